"""What a cycle keeps of a node's widget values: short texts as themselves, the rest as
their kind, values by name, the widget inputs a link feeds, and the numbers apart."""

from __future__ import annotations

import math

import pytest

from watchman.comfy.widget_values import (
    BOOLEAN,
    LONG_TEXT,
    MAX_KEPT_TEXT,
    MAX_KEPT_VALUES,
    NULL,
    NUMBER,
    ODD_NUMBER,
    OTHER,
    REFERENCE,
    linked_widgets,
    named_nulls,
    named_numbers,
    named_texts,
    number_count,
    packed_numbers,
    ui_values,
    unpacked_numbers,
    widget_kinds,
    widget_numbers,
    without_texts,
)


def test_short_texts_are_kept_and_everything_else_by_its_kind() -> None:
    values = ["euler", 1, 2.5, True, None, "x" * (MAX_KEPT_TEXT + 1), [1], {"a": 1}]
    assert widget_kinds(values) == (
        "euler", NUMBER, NUMBER, BOOLEAN, NULL, LONG_TEXT, OTHER, OTHER
    )  # fmt: skip


def test_a_dict_or_an_overlong_list_keeps_no_positions() -> None:
    assert widget_kinds({"video": "a.mp4"}) == ()
    assert widget_kinds([1] * (MAX_KEPT_VALUES + 1)) == ()


def test_named_texts_keep_only_short_texts_and_stop_at_the_cap() -> None:
    pairs = [("a", "x"), ("b", 3), (4, "y"), ("c", "z" * (MAX_KEPT_TEXT + 1))]
    assert named_texts(pairs) == (("a", "x"),)
    assert len(named_texts((f"n{i}", "v") for i in range(MAX_KEPT_VALUES + 5))) == (MAX_KEPT_VALUES)


def test_a_widget_input_with_a_link_is_linked_whatever_feeds_it() -> None:
    inputs = [
        {"name": "model", "link": 3},  # a socket, not a widget
        {"name": "sampler_name", "widget": {"name": "sampler_name"}, "link": 7},
        {"name": "scheduler", "widget": {"name": "scheduler"}, "link": None},
        "junk",
    ]
    assert linked_widgets(inputs, fed={"steps"}) == ("sampler_name", "steps")
    assert linked_widgets("junk") == ()


def test_a_ui_node_keeps_its_list_its_named_values_and_what_its_instance_gives() -> None:
    node = {"widgets_values": {"video": "clip.mp4", "frames": 8}, "inputs": []}
    kinds, named, linked, numbered, numbers, _ = ui_values(node, {"scheduler": "karras"}, ())
    assert kinds == ()
    assert named == (("video", "clip.mp4"), ("scheduler", "karras"))
    assert linked == ()
    assert (numbered, numbers) == (("frames",), [8.0])


def test_a_references_text_is_kept_once_and_a_node_of_no_text_or_number_keeps_nothing() -> None:
    kinds = widget_kinds(["sd.safetensors", 0.5, "euler"])
    assert without_texts(kinds, {"sd.safetensors"}) == (REFERENCE, NUMBER, "euler")
    assert without_texts(widget_kinds(["sd.safetensors", True]), {"sd.safetensors"}) == ()
    assert ui_values({"widgets_values": [True, None]}, {}, ())[0] == ()


def test_a_node_of_numbers_only_keeps_their_places_and_their_values_apart() -> None:
    kinds, _, _, numbered, numbers, _ = ui_values({"widgets_values": [1024, 1024, 1]}, {}, ())
    assert kinds == (NUMBER, NUMBER, NUMBER)
    assert numbered == ()
    assert numbers == [1024.0, 1024.0, 1.0]
    assert number_count(kinds) == len(numbers)


def test_a_number_no_double_holds_keeps_its_place_but_no_value() -> None:
    values = [math.nan, math.inf, 10**400, True, 7]
    assert widget_kinds(values) == (ODD_NUMBER, ODD_NUMBER, ODD_NUMBER, BOOLEAN, NUMBER)
    assert widget_numbers(values) == [7.0]
    assert named_numbers([("a", math.nan), ("b", 10**400), ("c", False), ("d", -2)]) == (
        ("d",),
        [-2.0],
    )


def test_kept_numbers_pack_as_doubles_and_come_back_equal() -> None:
    numbers = [0.0, -1.5, 2**53 + 2.0, 1e308]
    assert unpacked_numbers(packed_numbers(numbers)) == tuple(numbers)
    with pytest.raises(ValueError, match="another length"):
        unpacked_numbers(b"\0" * 9)


def test_nodes_of_numbers_only_share_one_kept_list_of_each_shape() -> None:
    first = ui_values({"widgets_values": [1024, 1024, 1]}, {}, ())[0]
    second = ui_values({"widgets_values": [512, 768, 4]}, {}, ())[0]
    assert first is second


def test_named_nulls_are_kept_bare_or_in_the_wrapper_comfyui_takes_off() -> None:
    pairs = [
        ("seed", None),
        ("steps", {"__value__": None}),
        ("cfg", {"__value__": 7}),
        ("extra", {"other": None}),
        (5, None),
        ("note", "null"),
    ]
    assert named_nulls(pairs) == ("seed", "steps")
    many = [(f"n{index}", None) for index in range(MAX_KEPT_VALUES + 5)]
    assert len(named_nulls(many)) == MAX_KEPT_VALUES


def test_a_ui_node_keeps_the_names_of_its_null_values_and_those_its_instance_gives() -> None:
    node = {"widgets_values": {"frames": None, "video": "a.mp4"}, "inputs": []}
    assert ui_values(node, {"seed": None}, ())[5] == ("frames", "seed")
