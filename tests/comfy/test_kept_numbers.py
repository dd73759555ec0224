"""Whatever a workflow holds, the numbers its parse keeps line up with its nodes: each
node's run of numbers is the values of its kept number places, then of its numbers known
by name, and come back equal through the parse cache."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.widget_values import NUMBER, number_count, number_value
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.workflow_cache import pack_parse, unpack_parse

VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -(10**400), True, False, None, "euler", "x" * 200, [1, 2], {}]),
    st.text(max_size=5),
)
TYPES = st.sampled_from(["KSampler", "EmptyLatentImage", "PackNode", "Note", "LoraLoader"])


@settings(max_examples=200, deadline=None)
@given(nodes=st.lists(st.tuples(TYPES, st.lists(VALUES, max_size=8)), max_size=6))
def test_a_ui_workflows_numbers_line_up_with_its_nodes(nodes: list[tuple[str, list[Any]]]) -> None:
    document = {
        "nodes": [
            {"id": at, "type": node_type, "mode": 0, "widgets_values": values}
            for at, (node_type, values) in enumerate(nodes, start=1)
        ],
        "links": [],
    }
    parsed = parse_ui_workflow(document)
    kept = parsed.node_numbers()
    assert len(parsed.numbers) == 8 * sum(
        number_count(node.widgets) + len(node.numbered) for node in parsed.nodes
    )
    by_id = {str(at): values for at, (_, values) in enumerate(nodes, start=1)}
    for node, numbers in zip(parsed.nodes, kept, strict=True):
        written = [number_value(value) for value in by_id[node.node_id]]
        expected = [number for number in written if number is not None]
        if node.widgets:
            assert list(numbers) == expected
            assert sum(1 for kind in node.widgets if kind == NUMBER and type(kind) is int) == len(
                expected
            )
        assert all(math.isfinite(number) for number in numbers)
    assert unpack_parse(pack_parse(parsed)) == parsed


@settings(max_examples=200, deadline=None)
@given(inputs=st.dictionaries(st.sampled_from(["seed", "steps", "cfg", "text", "a", "b"]), VALUES))
def test_an_api_prompts_numbers_line_up_with_its_named_inputs(inputs: dict[str, Any]) -> None:
    parsed = parse_api_prompt({"1": {"class_type": "KSampler", "inputs": inputs}})
    [node] = parsed.nodes
    [numbers] = parsed.node_numbers()
    expected = {
        name: number_value(value)
        for name, value in inputs.items()
        if number_value(value) is not None
    }
    assert dict(zip(node.numbered, numbers, strict=True)) == expected
    assert unpack_parse(pack_parse(parsed)) == parsed
