"""What a body of a pack's source binds to names, read statically (never by running it)."""

from __future__ import annotations

import ast

from watchman.comfy.loader_bindings import local_bindings
from watchman.comfy.loader_trace import DirectoriesOf


def _function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def test_os_walk_binds_its_root_and_dirs_to_directories_and_its_files_to_entries() -> None:
    function = _function("def f(p):\n    for root, dirs, files in os.walk(p):\n        pass\n")
    bindings = local_bindings(function)
    assert isinstance(bindings["root"][0], DirectoriesOf)
    assert isinstance(bindings["dirs"][0], DirectoriesOf)
    assert isinstance(bindings["files"][0], ast.Starred)
