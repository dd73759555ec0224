"""Reroute nodes hand on what their input receives: a loader fed by a real node through
a chain of reroutes takes that node's output, not its own stale widget value; fed by a
primitive (which keeps the widget in step) it keeps its value; inside a subgraph, a chain
from the subgraph's inputs brings the instance's value."""

from __future__ import annotations

import json

from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_graph import skip_reroutes

SUBGRAPH = "11111111-2222-4333-8444-555555555555"


def reroute(node_id: int, link: int | None) -> dict:
    return {"id": node_id, "type": "Reroute", "inputs": [{"name": "", "link": link}]}


def checkpoint_loader(node_id: int, link: int | None, value: str = "stale.safetensors") -> dict:
    return {
        "id": node_id,
        "type": "CheckpointLoaderSimple",
        "inputs": [{"name": "ckpt_name", "widget": {"name": "ckpt_name"}, "link": link}],
        "widgets_values": [value],
    }


def checkpoints(document: dict) -> list[str]:
    parsed = parse_workflow_bytes(json.dumps(document).encode(), "w.json")
    return [ref.value for ref in parsed.model_refs if ref.folder == "checkpoints"]


def test_a_loader_fed_by_a_real_node_through_reroutes_reads_no_widget_value() -> None:
    picker = {"id": 1, "type": "SomePackCheckpointPicker", "widgets_values": []}
    document = {
        "nodes": [picker, reroute(2, 10), reroute(3, 11), checkpoint_loader(4, 12)],
        "links": [[10, 1, 0, 2, 0, "*"], [11, 2, 0, 3, 0, "*"], [12, 3, 0, 4, 0, "COMBO"]],
    }
    assert checkpoints(document) == []


def test_a_loader_fed_by_a_primitive_through_a_reroute_keeps_its_value() -> None:
    primitive = {"id": 1, "type": "PrimitiveNode", "widgets_values": ["kept.safetensors"]}
    document = {
        "nodes": [primitive, reroute(2, 10), checkpoint_loader(3, 11, "kept.safetensors")],
        "links": [[10, 1, 0, 2, 0, "*"], [11, 2, 0, 3, 0, "COMBO"]],
    }
    assert checkpoints(document) == ["kept.safetensors"]


def test_reroutes_in_a_loop_or_fed_by_nothing_leave_the_value_alone() -> None:
    looped = {
        "nodes": [reroute(1, 11), reroute(2, 10), checkpoint_loader(3, 12)],
        "links": [[10, 1, 0, 2, 0, "*"], [11, 2, 0, 1, 0, "*"], [12, 2, 0, 3, 0, "COMBO"]],
    }
    assert checkpoints(looped) == ["stale.safetensors"]
    dangling = {
        "nodes": [reroute(1, None), checkpoint_loader(2, 10)],
        "links": [[10, 1, 0, 2, 0, "COMBO"]],
    }
    assert checkpoints(dangling) == ["stale.safetensors"]


def test_a_reroute_inside_a_subgraph_brings_the_instance_value() -> None:
    definition = {
        "id": SUBGRAPH,
        "inputs": [{"name": "ckpt_name", "type": "COMBO", "linkIds": [1]}],
        "nodes": [
            {
                "id": 5,
                "type": "Reroute",
                "inputs": [{"name": "", "widget": {"name": "ckpt_name"}, "link": 1}],
            },
            checkpoint_loader(6, 2),
        ],
        "links": [
            {"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": 5, "target_slot": 0},
            {"id": 2, "origin_id": 5, "origin_slot": 0, "target_id": 6, "target_slot": 0},
        ],
    }
    instance = {"id": 9, "type": SUBGRAPH, "widgets_values": ["picked.safetensors"]}
    document = {"nodes": [instance], "definitions": {"subgraphs": [definition]}}
    assert checkpoints(document) == ["picked.safetensors"]


def test_a_long_chain_is_resolved_once_per_reroute_in_any_order() -> None:
    count = 50_000
    nodes = [{"id": 0, "type": "SomePackCheckpointPicker"}]
    nodes += [reroute(index, index) for index in range(1, count + 1)]
    links: dict[object, object] = {index: index - 1 for index in range(1, count + 2)}
    for ordered in (nodes, nodes[::-1]):
        origins, slots = skip_reroutes(links, {}, ordered)
        assert origins[count + 1] == 0 and slots == {}


def test_nodes_whose_type_or_inputs_are_not_what_they_claim_are_no_reroutes() -> None:
    nodes = [
        {"id": 1, "type": {"id": 1}},
        {"id": 2, "type": ["Reroute"]},
        {"id": 3, "type": "Reroute", "inputs": "none"},
        {"id": 4, "type": "Reroute", "inputs": [{"link": {"x": 1}}]},
    ]
    origins, slots = skip_reroutes({10: 3, 11: 4, 12: 1}, {}, nodes)
    assert origins == {10: None, 11: None, 12: 1} and slots == {}
