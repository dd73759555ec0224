"""Node class names are read from Python source statically, never by running it."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from watchman.comfy import pack_node_types, python_source
from watchman.comfy.pack_node_types import node_classes_in_file, node_classes_in_source
from watchman.comfy.python_source import syntax_nodes


def classes(text: str) -> frozenset[str]:
    return node_classes_in_source(text, "fixture.py")


def test_a_literal_mapping_gives_its_string_keys() -> None:
    source = 'NODE_CLASS_MAPPINGS = {"KSampler": KSampler, "VAEDecode": VAEDecode}\n'
    assert classes(source) == {"KSampler", "VAEDecode"}


def test_an_annotated_mapping_is_read_too() -> None:
    source = 'NODE_CLASS_MAPPINGS: dict[str, type] = {"Annotated": object}\n'
    assert classes(source) == {"Annotated"}


def test_update_calls_item_assignments_and_in_place_union_add_classes() -> None:
    source = (
        "NODE_CLASS_MAPPINGS = {}\n"
        'NODE_CLASS_MAPPINGS.update({"FromUpdate": A})\n'
        "NODE_CLASS_MAPPINGS.update(FromKeyword=B)\n"
        'NODE_CLASS_MAPPINGS["FromItem"] = C\n'
        'NODE_CLASS_MAPPINGS |= {"FromUnion": D}\n'
    )
    assert classes(source) == {"FromUpdate", "FromKeyword", "FromItem", "FromUnion"}


def test_an_f_string_without_fields_is_a_literal_key() -> None:
    source = 'NODE_CLASS_MAPPINGS = {f"Plain": A, f"Field{n}": B}\n'
    assert classes(source) == {"Plain"}


def test_merges_of_dicts_defined_in_the_same_file_are_resolved() -> None:
    source = (
        'LOADERS = {"LoaderA": A}\n'
        'SAMPLERS = {"SamplerB": B, **LOADERS}\n'
        'NODE_CLASS_MAPPINGS = {**LOADERS, **SAMPLERS, "Own": C}\n'
        "NODE_CLASS_MAPPINGS.update(SAMPLERS)\n"
        'EXTRA = dict(ViaDict=E, **{"ViaInner": F})\n'
        "NODE_CLASS_MAPPINGS = NODE_CLASS_MAPPINGS | EXTRA\n"
    )
    assert classes(source) == {"LoaderA", "SamplerB", "Own", "ViaDict", "ViaInner"}


def test_a_key_held_in_a_module_string_constant_is_resolved() -> None:
    source = 'NAME = "ConstantKey"\nNODE_CLASS_MAPPINGS = {NAME: Cls}\n'
    assert classes(source) == {"ConstantKey"}


def test_what_needs_running_code_is_skipped_and_said_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = (
        "from .nodes import NODE_CLASS_MAPPINGS as IMPORTED\n"
        'NODE_CLASS_MAPPINGS = {**IMPORTED, "Literal": A}\n'
        "for name, cls in discover():\n"
        "    NODE_CLASS_MAPPINGS[name] = cls\n"
        'NODE_CLASS_MAPPINGS[f"{prefix}Node"] = B\n'
    )
    with caplog.at_level(logging.DEBUG, logger=pack_node_types.__name__):
        assert classes(source) == {"Literal"}
    assert any("non-literal key" in record.getMessage() for record in caplog.records)


def test_v3_schema_node_ids_are_node_classes() -> None:
    source = (
        "from comfy_api.latest import io\n"
        "class EmptyLatent(io.ComfyNode):\n"
        "    @classmethod\n"
        "    def define_schema(cls):\n"
        '        return io.Schema(node_id="EmptyHunyuanLatent", category="latent")\n'
        "def other():\n"
        '    return make(node_id="SomethingElse", display_name="x")\n'
        "def dynamic(name):\n"
        "    return io.Schema(node_id=name)\n"
    )
    assert classes(source) == {"EmptyHunyuanLatent", "SomethingElse"}


def test_other_dicts_and_strings_are_not_node_classes() -> None:
    source = (
        'NODE_DISPLAY_NAME_MAPPINGS = {"Shown": "Shown Name"}\n'
        'CONFIG = {"not_a_node": 1}\n'
        'print("NODE_CLASS_MAPPINGS")\n'
    )
    assert classes(source) == frozenset()


def test_source_that_does_not_parse_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert classes('NODE_CLASS_MAPPINGS = {"A": A\n') == frozenset()
        assert classes("NODE_CLASS_MAPPINGS = {}\x00") == frozenset()
    assert len([r for r in caplog.records if "does not parse" in r.getMessage()]) == 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MemoryError(), "nested deeper than the Python parser can follow"),
        (RecursionError("maximum recursion depth exceeded"), "nested deeper"),
        (SyntaxError("'{' was never closed", ("x.py", 3, 1, "", 3, 1)), "never closed, line 3"),
        (ValueError("source code string cannot contain null bytes"), "null bytes"),
        (ValueError(), "ValueError"),
    ],
)
def test_every_parse_failure_gives_a_reason_of_a_few_words(error: Exception, reason: str) -> None:
    said = python_source.parse_failure(error)
    assert reason in said and said.strip()


def test_code_nested_past_the_parser_is_skipped_with_a_reason_not_an_empty_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert classes("NODE_CLASS_MAPPINGS = " + "(" * 100_000 + ")" * 100_000) == frozenset()
    [message] = [r.getMessage() for r in caplog.records if "does not parse" in r.getMessage()]
    assert "()" not in message


def test_a_file_in_a_declared_legacy_encoding_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b'# -*- coding: latin-1 -*-\nNODE_CLASS_MAPPINGS = {"Caf\xe9Node": object}\n')
    assert node_classes_in_file(path) == {"CaféNode"}


def test_a_file_in_a_wrong_encoding_is_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "broken.py"
    path.write_bytes(b'NODE_CLASS_MAPPINGS = {"Caf\xe9": object}\n')
    with caplog.at_level(logging.WARNING):
        assert node_classes_in_file(path) == frozenset()
    assert "cannot be decoded" in caplog.text


def test_a_file_over_the_size_cap_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "huge.py"
    path.write_text('NODE_CLASS_MAPPINGS = {"Big": object}\n' + "# padding\n" * 20)
    monkeypatch.setattr(pack_node_types, "MAX_SOURCE_BYTES", 64)
    with caplog.at_level(logging.WARNING):
        assert node_classes_in_file(path) == frozenset()
    assert "over the 64-byte limit" in caplog.text


def test_a_file_is_read_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "evil.py"
    path.write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nNODE_CLASS_MAPPINGS = {{\"Evil\": object}}\n"
    )
    assert node_classes_in_file(path) == {"Evil"}
    assert not marker.exists()


def test_a_missing_file_gives_nothing(tmp_path: Path) -> None:
    assert node_classes_in_file(tmp_path / "absent.py") == frozenset()


SOURCE = """
import comfy.sd
class Loader:
    def load(self, ckpt_name, strength=1.0):
        path = folder_paths.get_full_path("checkpoints", ckpt_name)
        return (comfy.sd.load_checkpoint_guess_config(path, output_vae=[strength, {"a": 1}]),)
NODE_CLASS_MAPPINGS = {"Loader": Loader, **{k: v for k, v in OTHER.items()}}
"""


def test_the_list_walk_gives_ast_walks_nodes_in_its_order() -> None:
    tree = ast.parse(SOURCE)
    assert syntax_nodes(tree) == list(ast.walk(tree))


@pytest.mark.parametrize("limit", [0, 1, 2, 7, 40, 10_000])
def test_a_limited_walk_gives_the_first_nodes_of_the_whole_walk(limit: int) -> None:
    tree = ast.parse(SOURCE)
    whole = list(ast.walk(tree))
    assert syntax_nodes(tree, limit) == whole[:limit]
