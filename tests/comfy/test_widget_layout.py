"""Which input each stored widget value holds, from a live server's node definition: a
layout is accepted for a node only when every value fits it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchman.comfy.number_ranges import NumberRange
from watchman.comfy.widget_layout import (
    MAX_CHECKED_CHOICES,
    MAX_LAYOUT_INPUTS,
    WidgetSlot,
    layout_from_json,
    place_numbers,
    place_values,
    slot_json,
    widget_layout,
)
from watchman.comfy.widget_values import LONG_TEXT, REFERENCE, widget_kinds

KSAMPLER: dict[str, Any] = {
    "input": {
        "required": {
            "model": ["MODEL"],
            "seed": ["INT", {"default": 0, "control_after_generate": True}],
            "steps": ["INT", {"default": 20}],
            "cfg": ["FLOAT", {"default": 8.0}],
            "sampler_name": [["euler", "euler_ancestral", "dpmpp_2m"], {}],
            "scheduler": [["normal", "karras", "simple"], {}],
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"],
            "denoise": ["FLOAT", {"default": 1.0}],
        }
    }
}

LOAD_IMAGE: dict[str, Any] = {
    "input": {"required": {"image": [["a.png", "b.png"], {"image_upload": True}]}}
}


def placed(definition: dict[str, Any], values: list[Any]) -> dict[str, str] | None:
    layout = widget_layout(definition)
    assert layout is not None
    return place_values(layout, widget_kinds(values))


def test_a_ksamplers_values_are_placed_with_its_control_value() -> None:
    values = [42, "randomize", 20, 7.0, "euler", "normal", 1.0]
    assert placed(KSAMPLER, values) == {"sampler_name": "euler", "scheduler": "normal"}


def test_an_older_frontend_without_the_control_value_still_places_the_lists() -> None:
    assert placed(KSAMPLER, [42, 20, 7.0, "dpmpp_2m", "karras", 1.0]) == {
        "sampler_name": "dpmpp_2m",
        "scheduler": "karras",
    }


def test_a_value_left_over_or_missing_places_nothing() -> None:
    assert placed(KSAMPLER, [42, "randomize", 20, 7.0, "euler", "normal", 1.0, "x"]) is None
    assert placed(KSAMPLER, [42, "randomize", 20, 7.0, "euler", "normal"]) is None


def test_a_value_of_the_wrong_kind_places_nothing() -> None:
    # A pack's script added a text widget before the sampler: the lists would shift.
    assert placed(KSAMPLER, [42, "randomize", 20, "7", "euler", "normal", 1.0]) is None
    assert placed(KSAMPLER, [42, "randomize", 20, 7.0, 3, "normal", 1.0]) is None


def test_an_upload_buttons_value_is_taken_when_stored_and_skipped_when_not() -> None:
    assert placed(LOAD_IMAGE, ["a.png", "image"]) == {"image": "a.png"}
    assert placed(LOAD_IMAGE, ["a.png"]) == {"image": "a.png"}
    assert placed(LOAD_IMAGE, ["a.png", "something else"]) is None


def test_input_order_is_the_definitions_order_when_it_names_the_same_inputs() -> None:
    definition = {
        "input": {"required": {"b": [["x", "y"], {}], "a": ["INT", {}]}},
        "input_order": {"required": ["a", "b"]},
    }
    assert placed(definition, [1, "x"]) == {"b": "x"}
    definition["input_order"] = {"required": ["a", "b", "c"]}  # names another input
    assert placed(definition, ["x", 1]) == {"b": "x"}


def test_a_forced_input_is_a_socket_not_a_widget() -> None:
    definition = {
        "input": {"required": {"n": ["INT", {"forceInput": True}], "mode": [["a", "b"], {}]}}
    }
    assert placed(definition, ["b"]) == {"mode": "b"}


def test_the_combo_form_and_optional_inputs_are_laid_out() -> None:
    definition = {
        "input": {
            "required": {"mode": ["COMBO", {"options": ["fast", "slow"]}]},
            "optional": {"label": ["STRING", {}], "on": ["BOOLEAN", {}]},
        }
    }
    layout = widget_layout(definition)
    assert layout is not None
    assert [(slot.name, slot.kind) for slot in layout] == [
        ("mode", "combo"),
        ("label", "text"),
        ("on", "boolean"),
    ]
    assert layout[0].choices == frozenset({"fast", "slow"})
    assert place_values(layout, widget_kinds(["slow", "x" * 500, True])) == {"mode": "slow"}
    assert widget_kinds(["x" * 500]) == (LONG_TEXT,)


def test_lists_that_are_not_all_texts_or_are_filled_at_run_time_have_no_choices() -> None:
    definition = {
        "input": {
            "required": {
                "numbers": [[1, 2, 4], {}],
                "remote": ["COMBO", {"remote": {"route": "/x"}}],
                "empty": [[], {}],
                "many": ["COMBO", {"options": ["a", "b"], "multiselect": True}],
            }
        }
    }
    layout = widget_layout(definition)
    assert layout is not None
    assert [slot.choices for slot in layout] == [None, None, None, None]


def test_malformed_or_oversized_definitions_have_no_layout() -> None:
    assert widget_layout("KSampler") is None
    assert widget_layout({"input": []}) is None
    too_many = {f"i{n}": ["INT", {}] for n in range(MAX_LAYOUT_INPUTS + 1)}
    assert widget_layout({"input": {"required": too_many}}) is None
    # A malformed spec is no widget, never an error.
    assert widget_layout({"input": {"required": {"a": 3, "b": [], "c": [None]}}}) == ()


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)


@given(st.lists(JSON_SCALARS, max_size=10))
def test_placing_any_values_on_a_layout_gives_names_and_texts_or_nothing(
    values: list[Any],
) -> None:
    result = placed(KSAMPLER, values)
    assert result is None or (
        set(result) <= {"sampler_name", "scheduler"}
        and all(isinstance(v, str) for v in result.values())
    )


def test_a_model_reference_kept_by_the_parse_fits_a_list_and_is_not_returned() -> None:
    loader = {"input": {"required": {"ckpt_name": [["a.safetensors"], {}]}}}
    layout = widget_layout(loader)
    assert layout is not None
    assert place_values(layout, (REFERENCE,)) == {}


def test_a_lists_wrapping_control_value_is_a_control_value() -> None:
    definition = {"input": {"required": {"pick": [["a", "b"], {"control_after_generate": True}]}}}
    assert placed(definition, ["b", "increment-wrap", ""]) == {"pick": "b"}


def test_a_list_of_thousands_of_files_keeps_no_choices_to_spare_the_memory() -> None:
    files = [f"m{n}.safetensors" for n in range(MAX_CHECKED_CHOICES + 1)]
    layout = widget_layout({"input": {"required": {"ckpt_name": [files, {}]}}})
    assert layout is not None and layout[0].choices is None


RANGED: dict[str, Any] = {
    "input": {
        "required": {
            "seed": ["INT", {"min": 0, "max": 2**64 - 1, "control_after_generate": True}],
            "mode": [["a", "b"], {}],
            "strength": ["FLOAT", {"min": -2.0, "max": 2.0}],
            "steps": ["INT", {"default": 20}],
        }
    }
}


def test_a_number_input_carries_its_type_and_the_range_its_definition_gives() -> None:
    layout = widget_layout(RANGED)
    assert layout is not None
    ranges = {slot.name: slot.range for slot in layout if slot.name is not None}
    assert ranges == {
        "seed": NumberRange(True, 0, 2**64 - 1),
        "mode": None,
        "strength": NumberRange(False, -2.0, 2.0),
        "steps": NumberRange(True, None, None),  # no bounds: still an INT
    }


def test_numbers_are_placed_by_their_place_among_the_kept_numbers() -> None:
    layout = widget_layout(RANGED)
    assert layout is not None
    # The control value is no number.
    assert place_numbers(layout, widget_kinds([5, "fixed", "a", 0.5, 20])) == {
        "seed": 0,
        "strength": 1,
        "steps": 2,
    }
    placed = place_numbers(layout, widget_kinds([5, "a", 0.5, 20]))
    assert placed == {"seed": 0, "strength": 1, "steps": 2}
    assert place_numbers(layout, widget_kinds([5, "a", 0.5])) is None


def test_a_number_no_double_holds_fits_a_number_place_but_is_not_placed() -> None:
    layout = widget_layout(RANGED)
    assert layout is not None
    kinds = widget_kinds([10**400, "a", float("nan"), 20])
    assert place_numbers(layout, kinds) == {"steps": 0}  # the one number kept
    assert place_values(layout, kinds) == {"mode": "a"}


def test_a_layout_with_ranges_survives_its_json_and_a_malformed_range_spoils_it() -> None:
    layout = widget_layout(RANGED)
    assert layout is not None
    written = json.loads(json.dumps([slot_json(slot) for slot in layout]))
    assert layout_from_json(written) == layout
    assert written[0][5] == [True, 0, 2**64 - 1]
    assert layout_from_json([["x", "number", None, False, None, [True, "0", None]]]) == ()
    assert layout_from_json([["x", "text", None, False, None, [True, 0, 1]]]) == ()
    assert layout_from_json([["x", "number", None, False, None, [True, None, None]]]) == (
        WidgetSlot("x", "number", range=NumberRange(True, None, None)),
    )


def test_equal_slots_of_different_node_types_are_one_object() -> None:
    first = widget_layout(RANGED)
    second = widget_layout({"input": {"required": {"seed": RANGED["input"]["required"]["seed"]}}})
    assert first is not None and second is not None
    assert first[0] is second[0]  # the seed with its range, made once
    back = layout_from_json(json.loads(json.dumps([slot_json(slot) for slot in first])))
    assert back[0] is first[0]
    float_bounds = widget_layout({"input": {"required": {"seed": ["INT", {"min": 0.0}]}}})
    assert float_bounds is not None and float_bounds[0].range is not None
    assert type(float_bounds[0].range.minimum) is float  # "min of 0.0", not of 0
