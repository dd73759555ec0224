"""Properties of reading open inputs over generated graphs, hostile ones included: any
modes, types, dangling links, loops, bypass chains and subgraph outputs are read or
refused with a WorkflowError; an input called open is one the file lists as a socket;
what a node reaches is sorted, bounded and never holds the subgraph placeholder."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.socket_links import BEYOND, MAX_REACHED_TYPES
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.errors import WorkflowError

SUBGRAPH = "11111111-2222-4333-8444-555555555555"
IDS = st.integers(min_value=-21, max_value=10)
ODD = st.one_of(st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2), st.booleans())
TYPES = st.sampled_from(
    ["Reroute", "KSampler", "SaveImage", "VAEDecode", "PrimitiveNode", SUBGRAPH, "workflow>G"]
)
SOCKET_TYPES = st.sampled_from(["MODEL", "LATENT", "IMAGE", "*"])


@st.composite
def inputs(draw: st.DrawFn) -> list[Any]:
    found: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        item: dict[str, Any] = {
            "name": draw(st.one_of(st.sampled_from(["model", "samples", "images"]), ODD)),
            "type": draw(st.one_of(SOCKET_TYPES, ODD)),
            "link": draw(st.one_of(IDS, ODD)),
        }
        if draw(st.booleans()):
            item["widget"] = {"name": "seed"}
        found.append(draw(st.one_of(st.just(item), ODD)))
    return found


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    nodes = [
        {
            "id": draw(st.one_of(IDS, ODD)),
            "type": draw(st.one_of(TYPES, ODD)),
            "mode": draw(st.one_of(st.sampled_from([0, 2, 4]), ODD)),
            "inputs": draw(st.one_of(inputs(), ODD)),
        }
        for _ in range(draw(st.integers(0, 10)))
    ]
    links = [
        [draw(IDS), draw(st.one_of(IDS, ODD)), draw(st.one_of(st.integers(-1, 3), ODD)),
         draw(st.one_of(IDS, ODD)), draw(st.integers(0, 3)), draw(SOCKET_TYPES)]
        for _ in range(draw(st.integers(0, 14)))
    ]  # fmt: skip
    return nodes, links


def socket_names(document: dict[str, Any]) -> set[str]:
    """Every name an ``inputs`` entry without a widget has, anywhere in the document."""
    names: set[str] = set()
    pending: list[Any] = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if "inputs" in value and isinstance(value["inputs"], list):
                for item in value["inputs"]:
                    named = isinstance(item, dict) and isinstance(item.get("name"), str)
                    if named and "widget" not in item:
                        names.add(item["name"])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return names


@settings(max_examples=300, deadline=None)
@given(graphs(), graphs())
def test_any_graph_is_read_or_refused_and_open_inputs_are_listed_sockets(
    outer: Any, inner: Any
) -> None:
    inner_nodes, inner_links = inner
    definition = {
        "id": SUBGRAPH,
        "inputs": [{"name": "model", "linkIds": [1]}],
        "nodes": inner_nodes,
        "links": inner_links,
    }
    document = {
        "nodes": outer[0],
        "links": outer[1],
        "definitions": {"subgraphs": [definition]},
        "extra": {"groupNodes": {"G": {"nodes": inner_nodes, "links": inner_links}}},
    }
    try:
        parsed = parse_workflow_bytes(json.dumps(document).encode(), "w.json")
    except WorkflowError:
        return
    listed = socket_names(document)
    for node in parsed.nodes:
        assert set(node.open_inputs) <= listed
        assert list(node.reaches) == sorted(set(node.reaches))
        assert len(node.reaches) <= MAX_REACHED_TYPES and BEYOND not in node.reaches
        if node.bypassed or node.muted:
            assert node.open_inputs == ()


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([str(n) for n in range(8)]),
        st.fixed_dictionaries(
            {
                "class_type": st.sampled_from(["KSampler", "SaveImage", "Note", "VAEDecode"]),
                "inputs": st.dictionaries(
                    st.sampled_from(["model", "samples", "images", "seed"]),
                    st.one_of(
                        st.tuples(
                            st.sampled_from([str(n) for n in range(10)]), st.integers(0, 2)
                        ).map(list),
                        st.integers(),
                        st.text(max_size=4),
                    ),
                ),
            }
        ),
        min_size=1,
    )
)
def test_any_api_prompt_gives_names_it_holds_and_reaches_its_own_type(prompt: Any) -> None:
    parsed = parse_api_prompt(prompt)
    for node in parsed.nodes:
        assert node.given is not None
        assert set(node.given) <= set(prompt[node.node_id]["inputs"])
        assert node.node_type in node.reaches
        assert list(node.reaches) == sorted(set(node.reaches))


LISTED = {
    "KSampler": frozenset({"model", "latent_image"}),
    "VAEDecode": frozenset({"samples", "vae"}),
}


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_an_input_a_node_does_not_list_is_open_only_when_its_type_must_list_it(
    graph: Any,
) -> None:
    nodes, links = graph
    document = {"nodes": nodes, "links": links}
    table = loader_table(listed_sockets=LISTED)
    try:
        parsed = parse_workflow_bytes(json.dumps(document).encode(), "w.json", table=table)
    except WorkflowError:
        return
    listed = socket_names(document)
    for node in parsed.nodes:
        unlisted = set(node.open_inputs) - listed
        assert unlisted <= LISTED.get(node.node_type, frozenset())
