"""What a cycle keeps of a node's widget values: short texts as themselves, the rest as
their kind, values by name, and the widget inputs a link feeds."""

from __future__ import annotations

from watchman.comfy.widget_values import (
    BOOLEAN,
    LONG_TEXT,
    MAX_KEPT_TEXT,
    MAX_KEPT_VALUES,
    NULL,
    NUMBER,
    OTHER,
    REFERENCE,
    linked_widgets,
    named_texts,
    ui_values,
    widget_kinds,
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
    kinds, named, linked = ui_values(node, {"scheduler": "karras"}, ())
    assert kinds == ()
    assert named == (("video", "clip.mp4"), ("scheduler", "karras"))
    assert linked == ()


def test_a_model_references_text_is_kept_once_and_a_node_without_texts_keeps_nothing() -> None:
    kinds = widget_kinds(["sd.safetensors", 0.5, "euler"])
    assert without_texts(kinds, {"sd.safetensors"}) == (REFERENCE, NUMBER, "euler")
    assert without_texts(widget_kinds(["sd.safetensors", 0.5]), {"sd.safetensors"}) == ()
    assert ui_values({"widgets_values": [1024, 1024, 1]}, {}, ())[0] == ()
