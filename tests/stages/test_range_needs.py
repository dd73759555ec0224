"""Numbers ComfyUI would refuse (Value smaller than min, Value bigger than max): found
where a value lies outside its input's range, in a UI workflow as in an API prompt, and
never where ComfyUI would not check, or where which input a value is is not sure."""

from __future__ import annotations

import math
from typing import Any

from watchman.comfy.widget_layout import Layout, widget_layout
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.needs import assess_workflow
from watchman.stages.range_needs import OutOfRangeValue, find_out_of_range_values

DEFINITIONS: dict[str, Any] = {
    "KSampler": {
        "input": {
            "required": {
                "seed": ["INT", {"min": 0, "max": 0xFFFFFFFFFFFFFFFF}],
                "steps": ["INT", {"min": 1, "max": 10000}],
                "cfg": ["FLOAT", {"min": 0.0, "max": 100.0}],
                "sampler_name": [["euler", "dpmpp_2m"], {}],
                "scheduler": [["normal", "karras"], {}],
                "denoise": ["FLOAT", {"min": 0.0, "max": 1.0}],
            }
        }
    },
    "EmptyLatentImage": {
        "input": {
            "required": {
                "width": ["INT", {"min": 16, "max": 16384}],
                "height": ["INT", {"min": 16, "max": 16384}],
                "batch_size": ["INT", {"min": 1, "max": 4096}],
            }
        }
    },
}
LAYOUTS: dict[str, Layout] = {
    name: layout
    for name, definition in DEFINITIONS.items()
    if (layout := widget_layout(definition)) is not None
}
INVENTORY = ModelInventory(roots={}, files={}, separator="/")


def nothing_validates(node_type: str, input_name: str) -> bool:
    return False


def ui(*nodes: tuple[int, str, list[Any]], **extra: Any) -> ParsedWorkflow:
    return parse_ui_workflow(
        {
            "nodes": [
                {
                    "id": node_id,
                    "type": node_type,
                    "mode": extra.get("mode", 0),
                    "inputs": extra.get("inputs", []),
                    "widgets_values": values,
                }
                for node_id, node_type, values in nodes
            ],
            "links": [],
        }
    )


def found(parsed: ParsedWorkflow, validates: Any = nothing_validates) -> list[tuple[Any, ...]]:
    pairs = zip(parsed.nodes, parsed.node_numbers(), strict=True)
    return [
        (value.node_id, value.input, value.value, value.side)
        for value in find_out_of_range_values(pairs, LAYOUTS.get, validates)
    ]


def test_a_ui_value_past_its_max_or_under_its_min_is_found() -> None:
    parsed = ui(
        (3, "KSampler", [7, "fixed", 20000, 7.0, "euler", "normal", 1.5]),
        (4, "EmptyLatentImage", [8, 1024, 1]),
    )
    assert found(parsed) == [
        ("3", "steps", 20000, "above"),
        ("3", "denoise", 1.5, "above"),
        ("4", "width", 8, "below"),
    ]


def test_values_at_their_bounds_are_allowed() -> None:
    parsed = ui(
        (3, "KSampler", [0, "fixed", 10000, 100.0, "euler", "normal", 1.0]),
        (4, "EmptyLatentImage", [16, 16384, 4096]),
    )
    assert found(parsed) == []


def test_a_float_input_is_compared_as_comfyui_reads_it() -> None:
    parsed = ui((3, "KSampler", [7, "fixed", 20, 7.0, "euler", "normal", 1.0000000000000002]))
    [value] = find_out_of_range_values(
        zip(parsed.nodes, parsed.node_numbers(), strict=True), LAYOUTS.get, nothing_validates
    )
    assert value == OutOfRangeValue(
        "3", "KSampler", "denoise", 1.0000000000000002, "above", 0.0, 1.0
    )


def test_an_api_prompts_numbers_and_numeric_texts_are_found_by_name() -> None:
    parsed = parse_api_prompt(
        {
            "3": {
                "class_type": "KSampler",
                "inputs": {
                    "seed": -1,
                    "steps": "0",
                    "cfg": 7,
                    "sampler_name": "euler",
                    "scheduler": "normal",
                    "denoise": 1,
                    "model": ["4", 0],
                },
            },
            "4": {
                "class_type": "EmptyLatentImage",
                "inputs": {"width": 1024, "height": 99999, "batch_size": 1},
            },
        }
    )
    assert found(parsed) == [
        ("3", "seed", -1, "below"),
        ("3", "steps", 0, "below"),
        ("4", "height", 99999, "above"),
    ]


def test_a_linked_input_is_not_judged() -> None:
    inputs = [{"name": "steps", "widget": {"name": "steps"}, "link": 9}]
    parsed = ui((3, "KSampler", [7, "fixed", 20000, 7.0, "euler", "normal", 1.0]), inputs=inputs)
    assert found(parsed) == []
    api = parse_api_prompt(
        {
            "3": {
                "class_type": "EmptyLatentImage",
                "inputs": {"width": ["7", 0], "height": 8, "batch_size": 1},
            }
        }
    )
    assert found(api) == [("3", "height", 8, "below")]


def test_an_input_the_node_validates_itself_is_not_judged() -> None:
    parsed = ui((4, "EmptyLatentImage", [8, 8, 1]))
    assert found(parsed, lambda node_type, name: name == "width") == [("4", "height", 8, "below")]


def test_values_whose_place_is_not_sure_are_not_judged() -> None:
    # One value more than the definition has, or a text where a number goes.
    assert found(ui((4, "EmptyLatentImage", [8, 1024, 1, 5]))) == []
    assert found(ui((4, "EmptyLatentImage", ["8", 1024, 1]))) == []


def test_hostile_values_are_judged_only_where_comfyui_reads_a_number() -> None:
    # NaN and an integer no double holds keep their places (the node still fits) but
    # are not judged; a huge integer a double holds is.
    assert found(ui((4, "EmptyLatentImage", [math.nan, 10**400, 1]))) == []
    # Past a double's exact integers, an INT input's value is reported as the double.
    assert found(ui((4, "EmptyLatentImage", [10**300, 64, 1]))) == [("4", "width", 1e300, "above")]
    api = parse_api_prompt(
        {
            "4": {
                "class_type": "EmptyLatentImage",
                "inputs": {"width": "abc", "height": "1.5", "batch_size": True},
            }
        }
    )
    assert found(api) == []


def test_a_bypassed_or_muted_node_is_not_judged_and_an_active_one_makes_it_uncertain() -> None:
    values = [8, 1024, 1]
    for mode, status in ((4, "ready"), (2, "ready"), (0, "uncertain")):
        parsed = ui((4, "EmptyLatentImage", values), mode=mode)
        needs = assess_workflow(parsed, INVENTORY, {"EmptyLatentImage"}, ranges=LAYOUTS.get)
        assert needs.status == status
        assert len(needs.out_of_range) == (1 if mode == 0 else 0)


def test_ranges_are_not_checked_when_the_check_is_off() -> None:
    parsed = ui((4, "EmptyLatentImage", [8, 1024, 1]))
    needs = assess_workflow(parsed, INVENTORY, {"EmptyLatentImage"}, layouts=LAYOUTS.get)
    assert needs.status == "ready"
