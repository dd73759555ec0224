"""A stranger's ``/object_info`` is read into node types, choices and widget layouts, or
nothing, never an error; and any layout it gives places any stored values or refuses."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.widget_layout import SLOT_KINDS, place_values
from watchman.comfy.widget_values import number_count, ui_values, widget_kinds
from watchman.remote.comfyui_server import parse_object_info

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6)
)
WORDS = st.sampled_from(
    ["INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", "MODEL", "options", "forceInput",
     "control_after_generate", "image_upload", "multiselect", "required", "optional",
     "input", "input_order", "a", "b"]
)  # fmt: skip
JSON = st.recursive(
    st.one_of(SCALARS, WORDS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(WORDS, st.text(max_size=4)), inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSON, max_size=5), st.lists(SCALARS, max_size=8))
def test_any_object_info_reads_without_error_into_layouts_that_place_or_refuse(
    document: dict[str, Any], stored: list[Any]
) -> None:
    info = parse_object_info(document)
    assert info.node_types == frozenset(document)
    for layout in info.layouts.values():
        assert all(slot.kind in SLOT_KINDS for slot in layout)
        placed = place_values(layout, widget_kinds(stored))
        assert placed is None or all(isinstance(value, str) for value in placed.values())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["widgets_values", "inputs", "x"]), JSON, max_size=3))
def test_any_ui_node_keeps_texts_kinds_and_names_or_nothing(node: dict[str, Any]) -> None:
    kinds, named, linked, numbered, numbers, _ = ui_values(node, {}, ())
    assert all(type(kind) in (str, int) for kind in kinds)
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in named)
    assert all(isinstance(name, str) for name in linked)
    assert all(isinstance(name, str) for name in numbered)
    assert len(numbers) == number_count(kinds) + len(numbered)
    assert all(isinstance(number, float) and math.isfinite(number) for number in numbers)
