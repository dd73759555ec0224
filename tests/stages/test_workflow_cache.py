"""The workflow parse cache on disk: compact lines that come back equal, one at a time."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from watchman.comfy.widget_values import packed_numbers
from watchman.comfy.workflow_model import EmbeddedModel, ModelReference, NodeUse, ParsedWorkflow
from watchman.stages.workflow_cache import (
    CacheEntry,
    decode_entry,
    encode_entry,
    header,
    load_entries,
    pack_parse,
    save_entries,
    unpack_parse,
)

EMBEDDED = EmbeddedModel("a.safetensors", "https://example.org/a", "loras", "abc", "sha256")
PARSED = ParsedWorkflow(
    format="ui",
    nodes=(
        NodeUse("1", "LoraLoader", False, False, "comfy-core", None, "0.3"),
        NodeUse("2:5", "KSampler", True, False, None, "me/pack", None),
    ),
    model_refs=(
        ModelReference(
            "1", "LoraLoader", "lora_name", "a.safetensors", "loras", False, False, EMBEDDED
        ),
        ModelReference(
            "3", "Mystery", None, "b.ckpt", None, False, True, None, True, "C:\\b.ckpt", "name"
        ),
    ),
    embedded_models=(EMBEDDED,),
    subgraph_ids=frozenset({"sg-2", "sg-1"}),
    errors=("a finding",),
    undefined_instances=(NodeUse("9", "sg-3", False, True, None, None, None),),
)
WITH_VALUES = replace(
    PARSED,
    nodes=(
        NodeUse(
            "5", "KSampler", False, False, None, None, None,
            ("euler", 0, 1, 2, 3, 4), (("scheduler", "karras"),), ("seed",),
            numbered=("frames",),
            nulls=("seed",),
        ),
    ),
    numbers=packed_numbers([2.0**60 + 1.0, 0.1]),
)  # fmt: skip


def entry(parsed: ParsedWorkflow | None = PARSED, **changes: object) -> CacheEntry:
    packed = pack_parse(parsed) if parsed is not None else None
    fields: dict = dict(source="mine", size=10, mtime_ns=1, ctime_ns=2, checked_ns=3)
    fields.update(sha256="ff", parsed=packed, error=None)
    return CacheEntry(**{**fields, **changes})


def test_a_packed_parse_comes_back_equal() -> None:
    line = encode_entry("/w/a.json", entry())
    back = decode_entry(line)
    assert back == entry()
    assert back.parsed is not None and unpack_parse(back.parsed) == PARSED


def test_a_nodes_kept_values_come_back_equal_through_the_line_and_the_json_form() -> None:
    back = decode_entry(encode_entry("/w/a.json", entry(WITH_VALUES)))
    assert back.parsed is not None and unpack_parse(back.parsed) == WITH_VALUES
    assert ParsedWorkflow.from_json(orjson.loads(orjson.dumps(WITH_VALUES.to_json()))) == (
        WITH_VALUES
    )
    assert unpack_parse(back.parsed).node_numbers() == [(2.0**60 + 1.0, 0.1)]


def test_kept_numbers_that_are_not_finite_numbers_spoil_the_entry() -> None:
    packed = pack_parse(WITH_VALUES)
    packed[-2] = [1, "2"]  # the numbers, before whether the links are whole
    with pytest.raises(ValueError, match="finite number"):
        unpack_parse(packed)
    packed[-2] = [float("nan")]
    with pytest.raises(ValueError, match="finite number"):
        unpack_parse(packed)


def test_whether_the_links_are_whole_comes_back_and_must_be_true_or_false() -> None:
    whole = replace(PARSED, links_whole=True)
    assert unpack_parse(pack_parse(whole)).links_whole is True
    assert unpack_parse(pack_parse(PARSED)).links_whole is False
    packed = pack_parse(whole)
    packed[-1] = 1
    with pytest.raises(TypeError, match="whole"):
        unpack_parse(packed)


def test_unpacking_leaves_the_packed_parse_as_it_was_for_writing_again() -> None:
    packed = entry().parsed
    assert packed is not None
    unpack_parse(packed)
    assert decode_entry(encode_entry("p", entry())).parsed == packed


def test_a_path_with_a_tab_or_a_lone_surrogate_is_one_line_and_its_own_key(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache.jsonl"
    odd = ["/w/tab\there.json", "/w/bad-\udcff.json", "/w/new\nline.json"]
    entries = {path: encode_entry(path, entry(error=path)) for path in odd}
    assert all(line.count(b"\n") == 1 for line in entries.values())
    assert save_entries(cache, "v1", entries, {})
    loaded = load_entries(cache, "v1")
    assert list(loaded) == odd
    assert [decode_entry(line).error for line in loaded.values()] == odd


def test_a_damaged_line_costs_only_its_own_entry(tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    good = encode_entry("/w/good.json", entry())
    cache.write_bytes(header("v1") + b'"/w/torn.json"\t["mine", 10, 1' + b"\n" + b"junk\n" + good)
    loaded = load_entries(cache, "v1")
    assert list(loaded) == ["/w/torn.json", "/w/good.json"]
    assert decode_entry(loaded["/w/good.json"]) == entry()
    try:
        decode_entry(loaded["/w/torn.json"])
    except ValueError:
        pass
    else:
        raise AssertionError("a torn line decoded")


def test_another_version_or_layout_reads_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    cache.write_bytes(header("v1") + encode_entry("/w/a.json", entry()))
    assert load_entries(cache, "v2") == {}
    cache.write_bytes(b'{\n  "schema_version": 1,\n  "workflows": {}\n}\n')
    assert load_entries(cache, "v1") == {}
    assert load_entries(tmp_path / "absent.jsonl", "v1") == {}


def test_a_cache_whose_lines_did_not_change_is_not_rewritten(tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    entries = {"/w/a.json": encode_entry("/w/a.json", entry(None, error="bad"))}
    assert save_entries(cache, "v1", entries, {})
    os.utime(cache, ns=(1, 1))
    loaded = load_entries(cache, "v1")
    assert not save_entries(cache, "v1", dict(loaded), loaded)
    assert cache.stat().st_mtime_ns == 1
    changed = {"/w/a.json": encode_entry("/w/a.json", entry(None, error="other"))}
    assert save_entries(cache, "v1", changed, loaded)
    assert decode_entry(load_entries(cache, "v1")["/w/a.json"]).error == "other"


def test_workflows_unpacked_in_one_scan_share_their_equal_nodes() -> None:
    records: dict = {}
    first = unpack_parse(pack_parse(PARSED), records)
    second = unpack_parse(pack_parse(PARSED), records)
    assert first == second == PARSED
    assert first.nodes[0] is second.nodes[0]


def test_a_shared_node_is_never_one_whose_values_differ_only_in_type() -> None:
    records: dict = {}
    unpack_parse(pack_parse(PARSED), records)
    packed = pack_parse(PARSED)
    packed[1][1][2] = 1  # bypassed written as the number 1, not true
    again = unpack_parse(packed, records)
    assert again.nodes[1].bypassed == 1 and again.nodes[1].bypassed is not True


def test_a_node_met_before_in_a_scan_is_found_by_its_text_without_decoding_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchman.stages import workflow_cache

    decoded: list[object] = []
    decode = workflow_cache._decoded_node

    def counting(values, records, reached):  # type: ignore[no-untyped-def]
        decoded.append(values[0])
        return decode(values, records, reached)

    monkeypatch.setattr(workflow_cache, "_decoded_node", counting)
    records: dict = {}
    workflows = [unpack_parse(pack_parse(PARSED), records) for _ in range(5)]
    assert all(workflow == PARSED for workflow in workflows)
    assert sorted(decoded) == ["1", "2:5", "9"]  # each record once, not five times
    assert workflows[4].undefined_instances[0] is workflows[0].undefined_instances[0]


def test_equal_node_texts_that_reach_other_types_are_other_nodes() -> None:
    def reaching(types: tuple[str, ...]) -> ParsedWorkflow:
        node = NodeUse("1", "KSampler", False, False, None, None, None, reaches=types)
        return replace(PARSED, nodes=(node,))

    records: dict = {}
    to_save = unpack_parse(pack_parse(reaching(("SaveImage",))), records)
    to_preview = unpack_parse(pack_parse(reaching(("PreviewImage",))), records)
    # Both records are written alike (place 0 of their own table); the tables differ.
    assert pack_parse(reaching(("SaveImage",)))[1] == pack_parse(reaching(("PreviewImage",)))[1]
    assert to_save.nodes[0].reaches == ("SaveImage",)
    assert to_preview.nodes[0].reaches == ("PreviewImage",)


def test_an_edit_of_the_readers_source_is_a_new_parser_version(tmp_path: Path) -> None:
    from watchman.stages.workflow_entries import parser_version, reader_code, source_digest

    readers = tmp_path / "comfy"
    (readers / "data").mkdir(parents=True)
    (readers / "workflow_ui.py").write_text("RULE = 1\n")
    before = source_digest(readers)
    (readers / "data" / "table.json").write_text("{}")  # data has a digest of its own
    assert source_digest(readers) == before
    (readers / "workflow_ui.py").write_text("RULE = 2\n")
    assert source_digest(readers) != before
    # The cache's version carries the installed readers' digest.
    assert reader_code() in parser_version(None)


def test_each_set_of_reached_types_is_written_once_per_workflow_and_named_by_place() -> None:
    reaching = ("SaveImage", "VAEDecode")
    fed = (("model", "4", "CheckpointLoaderSimple", 0, "MODEL"),)
    samplers = [
        NodeUse(str(index), "KSampler", False, False, None, None, None,
                reaches=reaching, fed_by=fed)
        for index in range(3)
    ]  # fmt: skip
    decoder = NodeUse("9", "VAEDecode", False, False, None, None, None, reaches=("SaveImage",))
    nodes = (*samplers, decoder)
    parsed = replace(PARSED, nodes=nodes)
    line = encode_entry("/w/a.json", entry(parsed))
    assert line.count(b'"VAEDecode"') == 2  # the last node's type, and the table's one set
    back = decode_entry(line)
    assert back.parsed is not None
    unpacked = unpack_parse(back.parsed)
    assert unpacked == parsed
    assert unpacked.nodes[0].reaches is unpacked.nodes[2].reaches  # one tuple, shared


def test_a_place_outside_the_workflow_s_table_of_reached_types_spoils_the_entry() -> None:
    node = NodeUse("1", "KSampler", False, False, None, None, None, reaches=("SaveImage",))
    parsed = replace(PARSED, nodes=(node,))
    packed = pack_parse(parsed)
    assert unpack_parse(packed) == parsed  # the first place, 0, is kept at the end too
    for place in (5, -1, "0"):
        packed[1][0][len(packed[1][0]) - 1] = place
        with pytest.raises((IndexError, TypeError)):
            unpack_parse(packed)
