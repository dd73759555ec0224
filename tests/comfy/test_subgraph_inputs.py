"""A subgraph instance hands its inner nodes the values of its own widgets: an inner
loader whose input comes from the subgraph's inputs uses the instance's value (what
ComfyUI runs), not the stale copy in its own widgets; a value a real node outside feeds
is not read at all; newer frontends that keep promoted values on the inner nodes (and
save no instance values) keep the inner values."""

from __future__ import annotations

import json
from typing import Any

from watchman.comfy.subgraph_inputs import (
    NOTHING,
    input_slots,
    instance_inputs,
    subgraph_shape,
    widget_slots,
)
from watchman.comfy.workflow import parse_workflow_bytes

SUBGRAPH = "11111111-2222-4333-8444-555555555555"
INNER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def loader_subgraph(subgraph_id: str = SUBGRAPH, stale: str = "stale.safetensors") -> dict:
    """A subgraph with an IMAGE input and a COMBO input that feeds UNETLoader's widget,
    then a seed input feeding a sampler's widget."""
    return {
        "id": subgraph_id,
        "inputs": [
            {"name": "image", "type": "IMAGE", "linkIds": [1]},
            {"name": "unet_name", "type": "COMBO", "linkIds": [2]},
            {"name": "seed", "type": "INT", "linkIds": [3]},
        ],
        "nodes": [
            {"id": 5, "type": "LoadImageMask", "inputs": [{"name": "image", "link": 1}]},
            {
                "id": 6,
                "type": "UNETLoader",
                "inputs": [{"name": "unet_name", "widget": {"name": "unet_name"}, "link": 2}],
                "widgets_values": [stale, "default"],
            },
            {
                "id": 7,
                "type": "KSampler",
                "inputs": [{"name": "seed", "widget": {"name": "seed"}, "link": 3}],
                "widgets_values": [1, "fixed", 20, 8, "euler", "normal", 1.0],
            },
        ],
        "links": [
            {"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": 5, "target_slot": 0},
            {"id": 2, "origin_id": -10, "origin_slot": 1, "target_id": 6, "target_slot": 0},
            {"id": 3, "origin_id": -10, "origin_slot": 2, "target_id": 7, "target_slot": 0},
        ],
    }


def workflow(nodes: list[dict], subgraphs: list[dict], links: list | None = None) -> bytes:
    return json.dumps(
        {"nodes": nodes, "links": links or [], "definitions": {"subgraphs": subgraphs}}
    ).encode()


def unet_values(data: bytes) -> list[tuple[str, str]]:
    parsed = parse_workflow_bytes(data, "w.json")
    return [
        (ref.node_id, ref.value) for ref in parsed.model_refs if ref.folder == "diffusion_models"
    ]


def test_the_instance_widget_value_is_the_one_comfyui_runs() -> None:
    instance = {"id": 9, "type": SUBGRAPH, "widgets_values": ["picked.safetensors", 42]}
    assert unet_values(workflow([instance], [loader_subgraph()])) == [("9:6", "picked.safetensors")]


def test_without_instance_values_the_inner_values_stand() -> None:
    # Newer frontends keep promoted values on the inner nodes and save an empty list.
    for widgets in ([], None, ["only one"], ["a", "b", "c"]):
        instance = {"id": 9, "type": SUBGRAPH, "widgets_values": widgets}
        assert unet_values(workflow([instance], [loader_subgraph()])) == [
            ("9:6", "stale.safetensors")
        ]


def test_an_instance_listing_proxy_widgets_keeps_the_inner_values() -> None:
    # Newer frontends name promoted widgets in proxyWidgets, in an order the person may
    # have changed, and keep their values on the inner nodes.
    instance = {
        "id": 9,
        "type": SUBGRAPH,
        "properties": {"proxyWidgets": [["-1", "seed"], ["-1", "unet_name"]]},
        "widgets_values": [42, "picked.safetensors"],
    }
    subgraph = loader_subgraph(stale="inner.safetensors")
    assert unet_values(workflow([instance], [subgraph])) == [("9:6", "inner.safetensors")]


def fed_from_outside(origin: dict) -> bytes:
    """An instance whose unet_name input is linked from ``origin`` (node 3) outside it."""
    instance = {
        "id": 9,
        "type": SUBGRAPH,
        "inputs": [{"name": "unet_name", "type": "COMBO", "link": 40}],
        "widgets_values": ["picked.safetensors", 42],
    }
    return workflow([origin, instance], [loader_subgraph()], [[40, 3, 0, 9, 1, "COMBO"]])


def test_a_value_fed_by_a_real_node_outside_is_not_read_from_any_widget() -> None:
    picker = {"id": 3, "type": "SomePackModelPicker", "widgets_values": []}
    assert unet_values(fed_from_outside(picker)) == []


def test_a_primitive_outside_keeps_the_instance_widget_value() -> None:
    primitive = {"id": 3, "type": "PrimitiveNode", "widgets_values": ["picked.safetensors"]}
    assert unet_values(fed_from_outside(primitive)) == [("9:6", "picked.safetensors")]


def test_an_enclosing_instance_hands_its_value_down_through_a_nested_one() -> None:
    inner = loader_subgraph(INNER)
    outer = {
        "id": SUBGRAPH,
        "inputs": [{"name": "model", "type": "COMBO", "linkIds": [8]}],
        "nodes": [
            {
                "id": 4,
                "type": INNER,
                "inputs": [{"name": "unet_name", "widget": {"name": "unet_name"}, "link": 8}],
                "widgets_values": ["middle.safetensors", 7],
            }
        ],
        "links": [{"id": 8, "origin_id": -10, "origin_slot": 0, "target_id": 4, "target_slot": 0}],
    }
    instance = {"id": 9, "type": SUBGRAPH, "widgets_values": ["top.safetensors"]}
    assert unet_values(workflow([instance], [outer, inner])) == [("9:4:6", "top.safetensors")]


def test_two_instances_of_one_subgraph_each_get_their_own_value() -> None:
    first = {"id": 1, "type": SUBGRAPH, "widgets_values": ["one.safetensors", 1]}
    second = {"id": 2, "type": SUBGRAPH, "widgets_values": ["two.safetensors", 2]}
    assert unet_values(workflow([first, second], [loader_subgraph()])) == [
        ("1:6", "one.safetensors"),
        ("2:6", "two.safetensors"),
    ]


def test_the_widget_inputs_are_those_feeding_an_inner_widget_in_input_order() -> None:
    assert widget_slots(loader_subgraph()) == (1, 2)
    assert input_slots(loader_subgraph()["links"]) == {1: 0, 2: 1, 3: 2}


def test_malformed_definitions_and_instances_give_nothing_and_never_raise() -> None:
    garbage: list[Any] = [None, 3, "x", [], {}, {"inputs": "no"}, {"linkIds": [None, {}]}]
    for definition in garbage:
        for instance in garbage:
            if isinstance(definition, dict) and isinstance(instance, dict):
                shape = subgraph_shape(definition)
                assert instance_inputs(instance, shape, NOTHING, {}, {}, {}) is NOTHING
    assert input_slots([None, [1], [1, -10, "x"], {"id": [], "origin_id": -10}]) == {}
