"""The node types a pack registers, followed across its modules, still by reading only.

Read one file at a time, the common ways packs spread their ``NODE_CLASS_MAPPINGS`` over
modules were missed, and an installed pack's nodes were reported missing. This module
reads a pack's files as one program (:mod:`watchman.comfy.pack_modules`), statically:

* a mapping imported from another module of the pack (``from .image import
  IMAGE_CLASS_MAPPINGS``, then ``NODE_CLASS_MAPPINGS.update(IMAGE_CLASS_MAPPINGS)``, or
  ``A | B``, or ``{**A, **B}``);
* keys that are a class attribute (``{LoraLoaderLM.NAME: LoraLoaderLM}``) whose value is a
  string, or the result of a small function of strings (``NAME = get_name("Seed")`` where
  ``get_name`` returns ``"{} ({})".format(name, NAMESPACE)``);
* a mapping built by a helper from a config dict (``NODE_CLASS_MAPPINGS, _ =
  generate_node_mappings(NODE_CONFIG)``) or by a comprehension over one: its keys.

Nothing is run: expressions are evaluated (:mod:`watchman.comfy.pack_evaluation`) only
when they are literals, names bound to literals, or the few string operations above
(``+``, f-strings, ``str.format`` with plain ``{}`` fields). Every evaluation is bounded
(``MAX_DEPTH`` nested steps, ``MAX_STEPS`` in all per pack, ``MAX_PACK_SOURCE_BYTES`` of
source parsed); what cannot be known is left out, never guessed. A file read alone
(:func:`node_classes_in_file`) is a pack of one module.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable
from pathlib import Path

from watchman.comfy.pack_evaluation import OutOfBudget, PackReader
from watchman.comfy.pack_modules import PackModule, index_module, indexed_module, module_name
from watchman.comfy.python_source import (
    MAPPING_NAME,
    MARKERS,
    MAX_SOURCE_BYTES,
    NODE_ID_KEYWORD,
    PARSE_ERRORS,
    decode_source,
    is_mapping_name,
    parse_failure,
)
from watchman.errors import FileTooLargeError
from watchman.regular_files import read_regular

logger = logging.getLogger(__name__)


class DeclaringModules:
    """The modules of a pack's files that may declare node types (they name
    ``NODE_CLASS_MAPPINGS`` or a v3 ``node_id``), indexed from the syntax trees another
    reading of the pack parsed (:data:`~watchman.comfy.loader_source.ParsedFile`): a
    cold inventory parsed each such file twice, a third of its time on real packs."""

    def __init__(self) -> None:
        self.modules: dict[str, PackModule] = {}

    def add(self, path: str, data: bytes, tree: ast.Module, nodes: list[ast.AST]) -> None:
        """Index file ``path`` when it may declare node types (the files
        :func:`pack_node_types` reads first); keep nothing of any other."""
        if any(marker in data for marker in MARKERS):
            self.modules[path] = indexed_module(path, tree, nodes)


class FileDeclarations:
    """The node types each file declares read alone (ComfyUI's own files), from the
    syntax trees another reading parsed (:data:`~watchman.comfy.loader_source.ParsedFile`):
    each core file was parsed three times in a first inventory."""

    def __init__(self) -> None:
        self.by_file: dict[str, frozenset[str]] = {}

    def add(self, path: str, data: bytes, tree: ast.Module, nodes: list[ast.AST]) -> None:
        """Keep the node types file ``path`` declares, when it names a marker at all."""
        if any(marker in data for marker in MARKERS):
            self.by_file[path] = node_classes_in_tree(tree, path, nodes)


def pack_node_types(
    sources: Iterable[tuple[str, bytes]], indexed: DeclaringModules | None = None
) -> frozenset[str]:
    """Return the node types the pack registers, followed across its modules.

    Takes the pack's ``(relative path, source)`` Python files, and the modules of some of
    them already indexed (else each file is parsed here). Returns what the
    declarations can be shown to register; a pack whose source cannot be read, or whose
    mappings are built at run time, gives fewer (never invented) names. Never raises for
    any content.
    """
    files = dict(sources)
    reader = PackReader(files, indexed.modules if indexed is not None else None)
    found: set[str] = set()
    declaring = [path for path, data in files.items() if any(m in data for m in MARKERS)]
    # The package's own __init__ and the files naming the mapping first: a pack of many
    # vendored files spends the budget on what registers its nodes.
    declaring.sort(key=lambda path: (path.count("/"), MAPPING_NAME.encode() not in files[path]))
    for path in declaring:
        module = reader.file_module(path)
        if module is None:
            continue
        try:
            found |= declared(reader, module)
        except OutOfBudget:
            logger.info("The pack's node declarations take too long to follow; some are left.")
            break
    return frozenset(found)


CONDITIONAL_CALLS = frozenset({"register_and_count"})
"""Calls that register a mapping only when another pack is installed: MultiGPU's
``register_and_count(["ComfyUI-GGUF", "comfyui-gguf"], gguf_nodes)`` (a dict, or a
function returning one), checked against the folders of ``custom_nodes``."""

ConditionalTypes = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
"""``((folder names, node types), ...)``: the node types registered when any of the
folder names is an installed pack's folder."""


def conditional_node_types(sources: Iterable[tuple[str, bytes]]) -> ConditionalTypes:
    """Return the node types the pack registers only when another pack is installed.

    Takes the pack's ``(relative path, source)`` Python files; only files calling one of
    :data:`CONDITIONAL_CALLS` are parsed. Never raises for any content.
    """
    files = dict(sources)
    reader = PackReader(files)
    groups: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for path, data in files.items():
        if not any(call.encode() in data for call in CONDITIONAL_CALLS):
            continue
        module = reader.file_module(path)
        if module is None:
            continue
        for node in module.statements:
            try:
                group = conditional(reader, module, node)
            except (RecursionError, OutOfBudget):
                continue
            if group is not None:
                groups.append(group)
    return tuple(groups)


def node_classes_in_source(text: str, filename: str) -> frozenset[str]:
    """Return the node types one Python source text declares (the file read alone, as
    :func:`pack_node_types` reads a pack).

    Takes the source and where it came from (for messages). Returns the names found;
    empty when the text does not parse (a warning is logged).
    """
    try:
        tree = ast.parse(text, filename=filename)
    except PARSE_ERRORS as error:
        logger.warning(
            "Skipping %s: it does not parse as Python (%s).", filename, parse_failure(error)
        )
        return frozenset()
    return node_classes_in_tree(tree, filename)


def node_classes_in_tree(
    tree: ast.Module, filename: str, nodes: list[ast.AST] | None = None
) -> frozenset[str]:
    """Return the node types the syntax ``tree`` of file ``filename`` declares, read
    alone; ``nodes`` is the tree's walk when the caller has it. Never raises for any
    tree."""
    reader = PackReader({})
    module = PackModule(module_name(Path(filename).name), False)
    index_module(module, tree, nodes)
    try:
        return frozenset(declared(reader, module))
    except OutOfBudget:
        return frozenset()


def node_classes_in_file(path: Path) -> frozenset[str]:
    """Return the node types one Python file declares, read alone.

    Takes a ``.py`` file. Returns the names found; empty when the file is unreadable, too
    large, not decodable or not valid Python (a warning is logged in each case).
    """
    try:
        data = read_regular(path, MAX_SOURCE_BYTES)
    except FileTooLargeError as error:
        logger.warning(
            "Skipping %s: %d bytes is over the %d-byte limit for node source files.",
            path,
            error.size,
            MAX_SOURCE_BYTES,
        )
        return frozenset()
    except OSError as error:
        logger.warning("Skipping %s: %s.", path, error.strerror or error)
        return frozenset()
    if not any(marker in data for marker in MARKERS):
        return frozenset()
    text = decode_source(data, str(path))
    if text is None:
        return frozenset()
    return node_classes_in_source(text, str(path))


def declared(reader: PackReader, module: PackModule) -> set[str]:
    """Node types the module's statements register."""
    found: set[str] = set()
    for statement in module.statements:
        try:
            found |= _declared_by(reader, module, statement)
        except RecursionError:
            continue
    return found


def _declared_by(reader: PackReader, module: PackModule, node: ast.AST) -> set[str]:
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        found: set[str] = set()
        for target in targets:
            found |= _assigned(reader, module, target, node.value)
        return found
    if isinstance(node, ast.AugAssign) and is_mapping_name(node.target):
        return reader.keys(module, node.value, 0) or set()
    if isinstance(node, ast.Call):
        return _called(reader, module, node)
    return set()


def _assigned(
    reader: PackReader, module: PackModule, target: ast.expr, value: ast.expr
) -> set[str]:
    if is_mapping_name(target):
        keys = reader.keys(module, value, 0)
        if keys is None:
            _skipped(module, value, "a mapping that is not followed statically")
        return keys or set()
    if isinstance(target, ast.Subscript) and is_mapping_name(target.value):
        key = reader.text(module, target.slice, 0)
        if key is None:
            _skipped(module, target, "an item assignment with a non-literal key")
        return {key} if key is not None else set()
    if (
        isinstance(target, ast.Tuple)
        and any(is_mapping_name(item) for item in target.elts)
        and isinstance(value, ast.Call)
    ):
        # NODE_CLASS_MAPPINGS, NAMES = build(CONFIG): the config's keys.
        return reader.keys_of_arguments(module, value, 0)
    return set()


def _called(reader: PackReader, module: PackModule, call: ast.Call) -> set[str]:
    found: set[str] = set()
    for keyword in call.keywords:
        if keyword.arg == NODE_ID_KEYWORD:
            node_id = reader.text(module, keyword.value, 0)
            if node_id is not None:
                found.add(node_id)
    function = call.func
    if (
        isinstance(function, ast.Attribute)
        and function.attr == "update"
        and is_mapping_name(function.value)
    ):
        for argument in call.args:
            found |= reader.keys(module, argument, 0) or set()
        for keyword in call.keywords:
            if keyword.arg is None:  # .update(**other)
                found |= reader.keys(module, keyword.value, 0) or set()
            else:
                found.add(keyword.arg)
    return found


def conditional(
    reader: PackReader, module: PackModule, node: ast.AST
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The folder names and node types of one call of :data:`CONDITIONAL_CALLS`."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in CONDITIONAL_CALLS
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.List | ast.Tuple)
    ):
        return None
    folders = [reader.text(module, item, 0) for item in node.args[0].elts]
    names = tuple(folder for folder in folders if folder)
    keys = reader.keys(module, node.args[1], 0)
    if keys is None and isinstance(node.args[1], ast.Name):
        keys = _returned_keys(reader, module, node.args[1].id)
    if not names or not keys:
        return None
    return names, tuple(sorted(keys))


def _returned_keys(reader: PackReader, module: PackModule, name: str) -> set[str] | None:
    """The keys of the dict a module function returns (its last statement)."""
    definition = module.functions.get(name)
    if definition is None or not definition.body:
        return None
    last = definition.body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    return reader.keys(module, last.value, 1)


def _skipped(module: PackModule, node: ast.AST, what: str) -> None:
    logger.debug(
        "%s:%s: %s; not counted (only what reading can show is).",
        module.name or "__init__",
        getattr(node, "lineno", "?"),
        what,
    )
