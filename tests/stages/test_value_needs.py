"""List values a live ComfyUI would refuse (Value not in list): found where the server's
list lacks them, and never where ComfyUI would not check, or checks elsewhere."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from watchman.comfy.input_files import InputFileReference
from watchman.comfy.widget_layout import Layout, WidgetSlot, widget_layout
from watchman.comfy.widget_values import NUMBER, REFERENCE, widget_kinds
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import ModelReference, NodeUse
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.value_needs import MAX_SUGGESTED, find_unlisted_values

DEFINITIONS: dict[str, Any] = {
    "KSampler": {
        "input": {
            "required": {
                "seed": ["INT", {"control_after_generate": True}],
                "steps": ["INT", {}],
                "cfg": ["FLOAT", {}],
                "sampler_name": [["euler", "euler_ancestral", "dpmpp_2m"], {}],
                "scheduler": [["normal", "karras", "simple"], {}],
                "denoise": ["FLOAT", {}],
            }
        }
    },
    "PackLoader": {"input": {"required": {"file": [["a.safetensors"], {}]}}},
}
LAYOUTS: dict[str, Layout] = {
    name: layout
    for name, definition in DEFINITIONS.items()
    if (layout := widget_layout(definition)) is not None
}


def nothing_validates(node_type: str, input_name: str) -> bool:
    return False


def ksampler(values: list[Any], **fields: Any) -> NodeUse:
    return NodeUse("5", "KSampler", False, False, None, None, None, widget_kinds(values), **fields)


def unlisted(*nodes: NodeUse, validates: Any = nothing_validates, **others: Any) -> list[Any]:
    found = find_unlisted_values(nodes, LAYOUTS.get, validates, **others)
    return [(value.node_id, value.input, value.value) for value in found]


def test_a_scheduler_the_server_does_not_list_is_found_with_its_nearest_choices() -> None:
    node = ksampler([1, "fixed", 20, 7.0, "euler", "beta57", 1.0])
    found = find_unlisted_values([node], LAYOUTS.get, nothing_validates)
    assert [(v.input, v.value, v.offered) for v in found] == [("scheduler", "beta57", 3)]
    misspelled = ksampler([1, "fixed", 20, 7.0, "euler_ancestrall", "normal", 1.0])
    (value,) = find_unlisted_values([misspelled], LAYOUTS.get, nothing_validates)
    assert value.closest[0] == "euler_ancestral"


def test_listed_values_and_unknown_node_types_are_fine() -> None:
    assert unlisted(ksampler([1, "fixed", 20, 7.0, "euler", "karras", 1.0])) == []
    other = NodeUse("9", "Unknown", False, False, None, None, None, ("nope",))
    assert unlisted(other) == []


def test_values_whose_place_is_not_sure_are_not_checked() -> None:
    # One value more than the definition has: a pack's widget, or another version.
    assert unlisted(ksampler([1, "fixed", 20, 7.0, "euler", "beta57", 1.0, 5])) == []


def test_a_value_a_link_feeds_is_not_the_widgets() -> None:
    node = ksampler([1, "fixed", 20, 7.0, "euler", "beta57", 1.0], linked=("scheduler",))
    assert unlisted(node) == []


def test_a_value_given_by_name_stands_over_a_linked_widgets_copy() -> None:
    node = ksampler(
        [1, "fixed", 20, 7.0, "euler", "normal", 1.0],
        named=(("scheduler", "beta57"),),
        linked=("scheduler",),
    )
    assert unlisted(node) == [("5", "scheduler", "beta57")]


def test_an_input_the_nodes_own_validation_takes_is_left_to_it_and_only_that_one() -> None:
    node = ksampler([1, "fixed", 20, 7.0, "euler", "beta57", 1.0])
    assert unlisted(node, validates=lambda node_type, name: name == "scheduler") == []
    assert unlisted(node, validates=lambda node_type, name: name == "sampler_name") == [
        ("5", "scheduler", "beta57")
    ]


def test_inputs_read_as_model_files_or_input_files_are_checked_elsewhere() -> None:
    loader = NodeUse("3", "PackLoader", False, False, None, None, None, ("b.safetensors",))
    by_input = ModelReference(
        "3", "PackLoader", "file", "b.safetensors", None, False, False, None, True
    )
    by_value = ModelReference(
        "3", "PackLoader", None, "b.safetensors", None, False, False, None, True
    )
    assert unlisted(loader) == [("3", "file", "b.safetensors")]
    assert unlisted(loader, model_refs=[by_input]) == []
    assert unlisted(loader, model_refs=[by_value]) == []
    as_input = InputFileReference("3", "PackLoader", "file", "b.safetensors", "input", False, False)
    assert unlisted(loader, input_files=[as_input]) == []


def test_a_ui_workflow_and_an_api_prompt_are_read_to_the_same_finding() -> None:
    ui = {
        "nodes": [
            {
                "id": 5,
                "type": "KSampler",
                "mode": 0,
                "inputs": [{"name": "model", "type": "MODEL", "link": None}],
                "widgets_values": [1, "randomize", 20, 7.0, "euler", "beta57", 1.0],
            }
        ],
        "links": [],
    }
    api = {
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "sampler_name": "euler",
                "scheduler": "beta57",
                "model": ["4", 0],
            },
        }
    }
    for parsed in (parse_ui_workflow(ui), parse_api_prompt(api)):
        assert unlisted(*parsed.nodes) == [("5", "scheduler", "beta57")]


def test_a_ui_widget_converted_to_an_input_and_linked_is_not_checked() -> None:
    ui = {
        "nodes": [
            {
                "id": 5,
                "type": "KSampler",
                "inputs": [
                    {
                        "name": "scheduler",
                        "type": "COMBO",
                        "widget": {"name": "scheduler"},
                        "link": 1,
                    }
                ],
                "widgets_values": [1, "randomize", 20, 7.0, "euler", "beta57", 1.0],
            },
            {"id": 6, "type": "SchedulerPicker", "outputs": [{"links": [1]}]},
        ],
        "links": [[1, 6, 0, 5, 0, "COMBO"]],
    }
    assert unlisted(*parse_ui_workflow(ui).nodes) == []


def test_a_ui_loaders_file_name_is_kept_in_its_reference_not_twice() -> None:
    ui = {
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["sd.safetensors"]},
            {"id": 2, "type": "LoraLoader", "widgets_values": ["x.safetensors", 1.0, "mode"]},
        ],
        "links": [],
    }
    parsed = parse_ui_workflow(ui)
    assert [ref.value for ref in parsed.model_refs] == ["sd.safetensors", "x.safetensors"]
    assert [node.widgets for node in parsed.nodes] == [(), (REFERENCE, NUMBER, "mode")]


def test_what_the_frontend_mends_as_it_loads_is_not_held_against_the_workflow() -> None:
    # An early ComfyUI's sampler name, a true/false control value, a null list value.
    old = ksampler([1, True, 20, 7.0, "sample_euler", None, 1.0])
    assert unlisted(old) == []
    assert unlisted(ksampler([1, False, 20, 7.0, "sample_lms", "normal", 1.0])) == [
        ("5", "sampler_name", "lms")
    ]


def test_a_dict_of_widget_values_keeps_no_stale_copy_of_a_linked_input() -> None:
    ui = {
        "nodes": [
            {
                "id": 5,
                "type": "KSampler",
                "inputs": [
                    {"name": "scheduler", "widget": {"name": "scheduler"}, "link": 9},
                ],
                "widgets_values": {"scheduler": "beta57", "sampler_name": "nope"},
            }
        ],
        "links": [],
    }
    assert unlisted(*parse_ui_workflow(ui).nodes) == [("5", "sampler_name", "nope")]


def test_near_spellings_are_few_the_same_every_run_and_shared_across_workflows() -> None:
    choices = frozenset(f"model_{n:05d}.safetensors" for n in range(6000))
    layouts = {"Pick": (WidgetSlot("m", "combo", choices),)}
    node = NodeUse("1", "Pick", False, False, None, None, None, ("model_05999.safetensor",))
    memo: dict = {}
    (value,) = find_unlisted_values([node], layouts.get, nothing_validates, memo=memo)
    assert value.closest[0] == "model_05999.safetensors"
    assert memo == {(choices, "model_05999.safetensor"): value.closest}
    many = [replace(node, node_id=str(n), widgets=(f"x{n}",)) for n in range(30)]
    found = find_unlisted_values(many, layouts.get, nothing_validates)
    assert len(found) == 30 and all(v.closest == () for v in found[MAX_SUGGESTED:])


def test_a_sample_prefixed_sampler_an_early_comfyuis_own_list_holds_is_listed() -> None:
    early = {"KSampler": replace_choices(LAYOUTS["KSampler"], "sampler_name", {"sample_euler"})}
    node = ksampler([1, "fixed", 20, 7.0, "sample_euler", "normal", 1.0])
    assert find_unlisted_values([node], early.get, nothing_validates) == ()


def replace_choices(layout: Any, name: str, choices: set[str]) -> Any:
    return tuple(
        replace(slot, choices=frozenset(choices)) if slot.name == name else slot for slot in layout
    )


def test_a_short_list_is_compared_whole_so_a_first_letter_slip_still_finds_its_choice() -> None:
    choices = frozenset({"euler", *(f"sampler_{n:03d}" for n in range(200))})
    layouts = {"Pick": (WidgetSlot("m", "combo", choices),)}
    node = NodeUse("1", "Pick", False, False, None, None, None, ("xuler",))
    (value,) = find_unlisted_values([node], layouts.get, nothing_validates)
    assert value.closest == ("euler",)


def test_near_spellings_do_not_depend_on_the_processs_hash_seed() -> None:
    script = (
        "from watchman.comfy.widget_layout import WidgetSlot\n"
        "from watchman.comfy.workflow_model import NodeUse\n"
        "from watchman.stages.value_needs import find_unlisted_values\n"
        "choices = frozenset(f'model_{n:05d}.safetensors' for n in range(6000))\n"
        "node = NodeUse('1', 'Pick', False, False, None, None, None, ('model_03000.safetensor',))\n"
        "layouts = {'Pick': (WidgetSlot('m', 'combo', choices),)}\n"
        "(value,) = find_unlisted_values([node], layouts.get, lambda t, i: False)\n"
        "print(value.closest)\n"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).parents[2])},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(answers) == 1 and "model_03000.safetensors" in answers.pop()
