"""Properties of the links kept for their types, over generated graphs, hostile ones
included: a kept link names an input its node lists with that very link, leaves a
running node of a real type from a slot of at least 0, and no node that does not run
keeps one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.comfy.test_socket_links_properties import ODD, SUBGRAPH, TYPES
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_graph import is_instance_type
from watchman.errors import WorkflowError

NAMES = st.sampled_from(["model", "samples", "images"])
REAL = st.sampled_from(["KSampler", "SaveImage", "VAEDecode"])


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, else an odd value (``one_of`` would flatten the odd
    values' own choices and pick them more often)."""
    return st.integers(0, 3).flatmap(lambda pick: good if pick else ODD)


@st.composite
def wired(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    """A level of a few nodes (ids 1-5, some odd) whose inputs mostly hold links that
    the level's ``links`` mostly agree with: kept links are common, doubtful ones too."""
    nodes: list[Any] = []
    links: list[Any] = []
    for node_id in range(1, draw(st.integers(1, 5)) + 1):
        items: list[Any] = []
        for position in range(draw(st.integers(0, 3))):
            link_id = len(links) + 100
            item = {"name": draw(NAMES), "type": draw(mostly(st.just("IMAGE"))), "link": link_id}
            items.append(draw(mostly(st.just(item))))
            origin = draw(mostly(st.integers(0, 6)))
            slot = draw(mostly(st.integers(-1, 3)))
            target_slot = draw(st.one_of(st.just(position), st.just(position), st.integers(0, 3)))
            links.append([link_id, origin, slot, node_id, target_slot, "IMAGE"])
        nodes.append(
            {
                "id": draw(mostly(st.just(node_id))),
                "type": draw(st.integers(0, 3).flatmap(lambda pick: REAL if pick else TYPES)),
                "mode": draw(st.sampled_from([0, 0, 2, 4])),
                "inputs": items,
            }
        )
    return nodes, draw(st.permutations(links))


@settings(max_examples=300, deadline=None)
@given(wired(), wired())
def test_a_kept_link_leaves_a_running_real_node_for_an_input_its_node_lists(
    outer: Any, inner: Any
) -> None:
    definition = {"id": SUBGRAPH, "nodes": inner[0], "links": inner[1]}
    document = {"nodes": outer[0], "links": outer[1], "definitions": {"subgraphs": [definition]}}
    try:
        parsed = parse_workflow_bytes(json.dumps(document).encode(), "w.json")
    except WorkflowError:
        return
    names = {
        item["name"]
        for graph in (outer, inner)
        for node in graph[0]
        if isinstance(node, dict) and isinstance(node.get("inputs"), list)
        for item in node["inputs"]
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }
    for node in parsed.nodes:
        if node.bypassed or node.muted:
            assert node.fed_by == ()
        for name, _, source_type, slot, saved in node.fed_by:
            assert name in names and isinstance(saved, str)
            assert type(slot) is int and slot >= 0
            assert not is_frontend_only(source_type) and not is_instance_type(source_type)
            assert source_type != SUBGRAPH
        # What a node reaches is kept only when an input of it is open.
        assert not node.reaches or node.open_inputs


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([str(n) for n in range(6)]),
        st.fixed_dictionaries(
            {
                "class_type": st.sampled_from(["KSampler", "SaveImage", "Note", "VAEDecode"]),
                "inputs": st.dictionaries(
                    st.sampled_from(["model", "samples", "images"]),
                    st.one_of(
                        st.tuples(
                            st.one_of(st.sampled_from([str(n) for n in range(8)]), st.integers()),
                            st.one_of(st.integers(-2, 3), st.booleans(), st.text(max_size=2)),
                        ).map(list),
                        st.text(max_size=3),
                    ),
                ),
            }
        ),
        min_size=1,
    )
)
def test_an_api_prompts_kept_link_is_written_as_one_to_a_node_it_holds(prompt: Any) -> None:
    parsed = parse_api_prompt(prompt)
    for node in parsed.nodes:
        for name, source_id, source_type, slot, saved in node.fed_by:
            assert prompt[node.node_id]["inputs"][name] == [source_id, slot]
            assert prompt[source_id]["class_type"] == source_type != "Note"
            assert type(slot) is int and slot >= 0 and saved == ""
