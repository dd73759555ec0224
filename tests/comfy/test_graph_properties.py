"""Properties of the graph rules over generated graphs, hostile ones included: reroute
chains are looked through to a node that is not a reroute (or to nothing), whatever
loops or dangling links they hold; and a subgraph of any shape, instantiated with any
values, is read or refused with a WorkflowError, never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.subgraph_inputs import SUBGRAPH_INPUT_NODE
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_graph import link_origins, skip_reroutes
from watchman.errors import WorkflowError

SUBGRAPH = "11111111-2222-4333-8444-555555555555"
NODE_IDS = st.integers(min_value=-12, max_value=12)
ODD = st.one_of(st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2), st.booleans())
TYPES = st.sampled_from(["Reroute", "PrimitiveNode", "CheckpointLoaderSimple", "SomePick"])


@st.composite
def levels(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """Nodes (reroutes among them) and list links between them, ids drawn from a small
    pool so that chains, loops and dangling links all occur."""
    nodes = [
        {
            "id": draw(NODE_IDS),
            "type": draw(st.one_of(TYPES, ODD)),
            "inputs": [{"name": "", "link": draw(st.one_of(NODE_IDS, ODD))}],
        }
        for _ in range(draw(st.integers(0, 12)))
    ]
    links = [
        [draw(st.one_of(NODE_IDS, ODD)), draw(st.one_of(NODE_IDS, ODD)), draw(st.integers(0, 3))]
        for _ in range(draw(st.integers(0, 16)))
    ]
    return nodes, links


@settings(max_examples=300, deadline=None)
@given(levels())
def test_reroutes_are_looked_through_to_a_node_that_is_no_reroute(level: Any) -> None:
    nodes, links = level
    reroutes = {n["id"] for n in nodes if n["type"] == "Reroute"}
    origins, slots = skip_reroutes(link_origins(links), {}, nodes)
    assert set(origins) == set(link_origins(links))
    for origin in origins.values():
        assert origin is None or origin not in reroutes
    assert slots == {}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=8), ODD), max_size=5),
    st.lists(
        st.fixed_dictionaries(
            {"id": NODE_IDS, "origin_id": st.one_of(st.just(SUBGRAPH_INPUT_NODE), NODE_IDS)},
            optional={"origin_slot": st.one_of(st.integers(-1, 5), ODD), "target_id": NODE_IDS,
                      "target_slot": st.one_of(st.integers(-1, 3), ODD)},
        ),
        max_size=8,
    ),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), ODD), max_size=6),
    levels(),
)  # fmt: skip
def test_any_subgraph_with_any_instance_values_is_read_or_refused(
    input_names: list[Any], inner_links: list[dict], values: list[Any], level: Any
) -> None:
    nodes, _ = level
    for node in nodes:
        node["widgets_values"] = ["x.safetensors"]
        node["inputs"][0]["widget"] = {"name": "ckpt_name"}
    definition = {
        "id": SUBGRAPH,
        "inputs": [{"name": name, "linkIds": [index]} for index, name in enumerate(input_names)],
        "nodes": nodes,
        "links": inner_links,
    }
    instance = {"id": 99, "type": SUBGRAPH, "widgets_values": values,
                "inputs": [{"name": name, "link": 1} for name in input_names]}  # fmt: skip
    outer = {"id": 98, "type": "SomePick"}
    document = {
        "nodes": [outer, instance],
        "links": [[1, 98, 0, 99, 0, "COMBO"]],
        "definitions": {"subgraphs": [definition]},
    }
    try:
        parsed = parse_workflow_bytes(json.dumps(document).encode(), "w.json")
    except WorkflowError:
        return
    # Every input of the instance is fed by a real node outside: no inner widget fed
    # through the subgraph's inputs is read.
    assert all(isinstance(ref.value, str) for ref in parsed.model_refs)
