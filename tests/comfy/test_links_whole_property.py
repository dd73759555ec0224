"""Over random UI graphs drawn from hostile shapes (muted and bypassed nodes, primitives,
reroute chains and loops, links that disagree with their inputs): a parse that says its
links are whole never leaves out a node an output needs, and its cached form comes back
equal however many equal records a scan shares."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.link_type_needs import needed_by_outputs
from watchman.stages.workflow_cache import pack_parse, unpack_parse

TYPES = ("LoadImage", "Upscale", "SaveImage", "PrimitiveNode", "Reroute", "MysteryNode")
OUTPUT_FLAGS = {"LoadImage": False, "Upscale": False, "SaveImage": True}
MUTED, BYPASSED = 2, 4
PASSING = ("Reroute",)
NO_LINK_SENT = ("PrimitiveNode",)


def outputs(node_type: str) -> bool | None:
    return OUTPUT_FLAGS.get(node_type)


def sockets(node_type: str) -> SocketRules | None:
    flag = OUTPUT_FLAGS.get(node_type)
    return None if flag is None else SocketRules(frozenset(), flag)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(2, 8))
    nodes = []
    for node_id in range(1, count + 1):
        node_type = draw(st.sampled_from(TYPES))
        names = [""] if node_type == "Reroute" else draw(st.sampled_from([[], ["a"], ["a", "b"]]))
        nodes.append(
            {
                "id": node_id,
                "type": node_type,
                "mode": draw(st.sampled_from([0, 0, 0, MUTED, BYPASSED])),
                "inputs": [{"name": name, "type": "IMAGE", "link": None} for name in names],
            }
        )
    links = []
    for link_id in range(10, 10 + draw(st.integers(0, 12))):
        origin = draw(st.integers(1, count))
        target = draw(st.integers(1, count))
        slot = draw(st.integers(0, 1))
        inputs = nodes[target - 1]["inputs"]
        place = draw(st.integers(0, 1))
        links.append([link_id, origin, slot, target, place, "IMAGE"])
        if place < len(inputs) and draw(st.booleans()):
            inputs[place]["link"] = link_id  # most links agree with their input; some not
    return {"nodes": nodes, "links": links}


def _sent_edges(graph: dict[str, Any]) -> tuple[set[tuple[int, int]], bool]:
    """Every (source, target) link a frontend could send ComfyUI, over-approximated: any
    input listing a link, its source looked for through reroutes. Also whether a bypassed
    node stands on one (then the links cannot be whole)."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    by_link = {link[0]: link for link in graph["links"]}
    edges: set[tuple[int, int]] = set()
    bypassed_on_a_link = False
    for node in graph["nodes"]:
        if node["mode"] in (MUTED, BYPASSED) or node["type"] in PASSING + NO_LINK_SENT:
            continue
        for item in node["inputs"]:
            link = by_link.get(item["link"])
            seen: set[int] = set()
            while link is not None:
                origin = nodes[link[1]]
                if origin["type"] in NO_LINK_SENT:
                    break  # a primitive sends its value, whatever its mode
                if origin["mode"] == BYPASSED:
                    bypassed_on_a_link = True
                    break
                if origin["type"] not in PASSING:
                    if origin["mode"] != MUTED:
                        edges.add((origin["id"], node["id"]))
                    break
                if origin["id"] in seen:
                    break
                seen.add(origin["id"])
                link = by_link.get(origin["inputs"][0]["link"])
    return edges, bypassed_on_a_link


def _truly_needed(graph: dict[str, Any], edges: set[tuple[int, int]]) -> set[str]:
    waiting = [
        node["id"]
        for node in graph["nodes"]
        if node["mode"] not in (MUTED, BYPASSED)
        and node["type"] not in PASSING + NO_LINK_SENT
        and outputs(node["type"]) is not False
    ]
    needed = set(waiting)
    while waiting:
        target = waiting.pop()
        for source, fed in edges:
            if fed == target and source not in needed:
                needed.add(source)
                waiting.append(source)
    return {str(node_id) for node_id in needed}


@settings(max_examples=400)
@given(graphs())
def test_whole_links_never_leave_out_a_node_an_output_needs(graph: dict[str, Any]) -> None:
    parsed = parse_ui_workflow(graph)
    edges, bypassed_on_a_link = _sent_edges(graph)
    if bypassed_on_a_link:
        assert not parsed.links_whole
    if not parsed.links_whole:
        return
    needed = needed_by_outputs(parsed.nodes, outputs, sockets)
    if needed is not None:
        assert _truly_needed(graph, edges) <= needed


@settings(max_examples=200)
@given(graphs(), graphs())
def test_cached_parses_come_back_equal_with_records_shared_across_a_scan(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    parses = [parse_ui_workflow(graph) for graph in (first, second, first)]
    records: dict = {}
    assert [unpack_parse(pack_parse(parsed), records) for parsed in parses] == parses
