"""Every crash site the fuzzer found, one by one: a value of the wrong JSON type, deep
nesting, group-node chains and lone surrogates make a finding or a parse error naming
the limit, never an exception from the reader."""

from __future__ import annotations

import json
import struct
import sys
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchman.comfy import workflow_limits, workflow_ui
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_json import MAX_JSON_DEPTH, decode_json
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.errors import WorkflowError

SUBGRAPH = "11111111-2222-4333-8444-555555555555"


def loader(node_id: Any = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "CheckpointLoaderSimple",
        "widgets_values": ["base.safetensors"],
        **extra,
    }


def parse(document: Any) -> ParsedWorkflow:
    return parse_workflow_bytes(json.dumps(document).encode(), "w.json")


def png_with_text(key: str, text: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"tEXt", key.encode() + b"\0" + text) + chunk(b"IEND", b"")


WRONG_TYPES = {
    "a link id that is a list": {"nodes": [loader()], "links": [[[1], 1, 0, 2, 0, "MODEL"]]},
    "a subgraph link id that is an object": {"nodes": [loader()], "links": [{"id": {"a": 1}}]},
    "a node id that is a list": {"nodes": [loader([1, 2]), loader([3])]},
    "a node id that is an object": {"nodes": [loader({"a": 1})]},
    "inputs that are a number": {"nodes": [loader(inputs=5)]},
    "an input link that is a list": {
        "nodes": [loader(inputs=[{"name": "x", "widget": {"name": "ckpt_name"}, "link": [1]}])]
    },
    "a widget name that is a list": {
        "nodes": [loader(inputs=[{"name": "x", "widget": {"name": [1]}, "link": 3}])]
    },
    "a widget that is a list": {"nodes": [loader(inputs=[{"widget": [1], "link": 1}])]},
    "group nodes that are a number": {
        "nodes": [{"id": 1, "type": "workflow>G"}],
        "extra": {"groupNodes": {"G": {"nodes": 7}}},
    },
    "properties that are a list": {"nodes": [loader(properties=[1])]},
    "widgets_values that are a string": {"nodes": [loader(widgets_values="base.safetensors")]},
    "a type that is an object": {"nodes": [{"id": 1, "type": {"a": 1}}]},
}


@pytest.mark.parametrize("document", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_value_of_the_wrong_json_type_is_read_around_not_a_crash(document: Any) -> None:
    parsed = parse(document)
    assert parsed.format == "ui"


def test_a_node_id_that_is_not_a_number_or_short_text_is_named_by_its_position() -> None:
    parsed = parse({"nodes": [loader([1, 2]), loader("x" * 1000)]})
    assert [node.node_id for node in parsed.nodes] == ["#0", "#1"]


def test_json_nested_deeper_than_the_limit_is_a_parse_error_naming_the_limit() -> None:
    deep = b'{"nodes": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    with pytest.raises(WorkflowError, match="MAX_JSON_DEPTH"):
        parse_workflow_bytes(deep, "deep.json")


def test_nesting_just_past_the_limit_is_refused_and_at_the_limit_read() -> None:
    def nested(levels: int) -> bytes:
        return b"[" * levels + b"]" * levels

    assert decode_json(nested(MAX_JSON_DEPTH), "ok.json") is not None
    with pytest.raises(WorkflowError, match="MAX_JSON_DEPTH"):
        decode_json(nested(MAX_JSON_DEPTH + 1), "deep.json")


def test_deep_nesting_inside_png_text_is_that_image_s_parse_error() -> None:
    text = b'{"nodes": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    with pytest.raises(WorkflowError, match="MAX_JSON_DEPTH"):
        parse_workflow_bytes(png_with_text("workflow", text), "deep.png")


def test_a_long_chain_of_group_nodes_stops_at_the_nesting_limit() -> None:
    groups = {
        f"G{index}": {"nodes": [{"type": f"workflow>G{index + 1}", "index": 0}]}
        for index in range(5_000)
    }
    parsed = parse({"nodes": [{"id": 1, "type": "workflow>G0"}], "extra": {"groupNodes": groups}})
    assert any("MAX_NESTING" in error for error in parsed.errors)


def test_a_group_node_that_contains_itself_is_undefined_not_followed() -> None:
    groups = {"G": {"nodes": [{"type": "workflow>G", "index": 0}]}}
    parsed = parse({"nodes": [{"id": 1, "type": "workflow>G"}], "extra": {"groupNodes": groups}})
    assert [node.node_type for node in parsed.undefined_instances] == ["workflow>G"]


def fan_out(levels: int) -> dict[str, Any]:
    """Subgraph i holds two instances of subgraph i+1: 2**levels innermost loaders."""
    ids = [f"{index:08x}-0000-4000-8000-000000000000" for index in range(levels)]
    definitions = [
        {
            "id": ids[index],
            "nodes": [{"id": 1, "type": ids[index + 1]}, {"id": 2, "type": ids[index + 1]}],
        }
        for index in range(levels - 1)
    ]
    definitions.append({"id": ids[-1], "nodes": [loader()]})
    return {"nodes": [{"id": 1, "type": ids[0]}], "definitions": {"subgraphs": definitions}}


def test_subgraphs_that_fan_out_past_the_node_budget_are_a_parse_error_naming_it() -> None:
    document = fan_out(30)  # 2**30 nodes if followed; the file is a few KB
    assert len(json.dumps(document)) < 10_000
    with pytest.raises(WorkflowError, match="MAX_EXPANDED_NODES"):
        parse(document)


def test_subgraphs_that_fan_out_within_the_budget_are_all_read() -> None:
    parsed = parse(fan_out(8))
    assert len(parsed.model_refs) == 2**7


def lower_the_value_budget(monkeypatch: pytest.MonkeyPatch, limit: int) -> list[str]:
    """Set ``MAX_NODE_VALUES`` to ``limit`` where it is defined and in every module that
    imported it by name (patching only one of them would leave the other copy as it was,
    and the walk may read either); return the modules patched."""
    real = workflow_limits.MAX_NODE_VALUES
    patched = []
    for name, module in list(sys.modules.items()):
        if name.startswith("watchman.") and getattr(module, "MAX_NODE_VALUES", None) is real:
            monkeypatch.setattr(module, "MAX_NODE_VALUES", limit)
            patched.append(name)
    return patched


def test_lowering_the_value_budget_leaves_no_copy_of_the_real_one_in_the_ui_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patched = lower_the_value_budget(monkeypatch, 100)
    assert "watchman.comfy.workflow_limits" in patched
    # The UI reader imports the limit by name (or, if it reads it through its module,
    # holds no copy at all): either way no copy of the real budget is left in it.
    assert getattr(workflow_ui, "MAX_NODE_VALUES", 100) == 100


def test_values_past_the_value_budget_are_a_parse_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lower_the_value_budget(monkeypatch, 100)
    # "more than 100": the walk read the lowered budget, not the real one (5,000,000).
    with pytest.raises(WorkflowError, match=r"more than 100 values .*\(MAX_NODE_VALUES\)"):
        parse({"nodes": [loader(widgets_values=list(range(200)))]})


def test_findings_past_their_cap_are_counted_in_one_last_finding() -> None:
    parsed = parse({"nodes": [{"id": index} for index in range(workflow_ui.MAX_FINDINGS + 5)]})
    assert len(parsed.errors) == workflow_ui.MAX_FINDINGS + 1
    assert parsed.errors[-1].startswith("5 further findings")


def test_a_lone_surrogate_in_a_value_is_kept_as_visible_escaped_text() -> None:
    data = (
        b'{"nodes": [{"id": 1, "type": "CheckpointLoaderSimple",'
        b' "widgets_values": ["a\\ud800.safetensors"]}]}'
    )
    parsed = parse_workflow_bytes(data, "w.json")
    assert [ref.value for ref in parsed.model_refs] == ["a\\ud800.safetensors"]
    # Everything it holds can be written as UTF-8.
    json.dumps(parsed.to_json(), ensure_ascii=False).encode("utf-8")


def test_a_valid_surrogate_pair_and_an_escaped_backslash_stay_what_they_are() -> None:
    text = rb'["\ud83d\ude00", "\\ud800", "\\\ud800", NaN, "NaN"]'
    assert decode_json(text, "w.json") == ["😀", "\\ud800", "\\\\ud800", None, "NaN"]


@pytest.mark.parametrize(
    "tail",
    [b'"\\' * 50_000, b'"\\\n' * 50_000, b'"' + b'\\"' * 50_000 + b"\\", b'"abc'],
    ids=["quote-backslash pairs", "escaped newlines", "escaped quotes, a lone backslash", "short"],
)
def test_a_string_left_open_to_the_end_after_a_nan_is_not_json(tail: bytes) -> None:
    # The second try reads such a tail once (a pattern that looked for the strings to
    # repair kept a frame per escape: 15 s and 3 GiB for 50 MB).
    with pytest.raises(WorkflowError, match="not valid JSON"):
        decode_json(b'{"a": NaN, "b": ' + tail, "w.json")


_CHARACTERS = st.sampled_from(["a", "\ud800", "\udc80", "\udfff", "é", "\\", '"']) | st.characters()


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(_CHARACTERS, max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(_CHARACTERS, max_size=4), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_json_with_nan_and_lone_surrogates_reads_as_null_and_escape_text(document: Any) -> None:
    text = json.dumps(document)  # NaN and Infinity as bare tokens, surrogates as escapes
    expected = json.loads(text, parse_constant=lambda _: None)

    def shown(value: Any) -> Any:
        if isinstance(value, str):
            return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        if isinstance(value, list):
            return [shown(item) for item in value]
        if isinstance(value, dict):
            return {shown(key): shown(item) for key, item in value.items()}
        return value

    assert decode_json(text.encode(), "w.json") == shown(expected)


def test_a_python_nan_in_an_api_prompt_does_not_make_it_unreadable() -> None:
    data = b'{"3": {"class_type": "KSampler", "inputs": {"cfg": NaN, "seed": 1}}}'
    assert parse_workflow_bytes(data, "p.json").node_types == ("KSampler",)


def test_bytes_that_are_not_utf8_are_a_parse_error_not_a_crash() -> None:
    with pytest.raises(WorkflowError, match="neither UTF-8 JSON"):
        parse_workflow_bytes(b'{"nodes": ["\xff\xfe"]}', "w.json")
