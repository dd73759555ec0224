"""What a cycle keeps of a node's widget values, so the install's input lists (a live
server's or its source's) can be checked against them later
(:mod:`watchman.stages.value_needs`) without the workflow.

A UI node's ``widgets_values`` list is kept position by position: a text of at most
:data:`MAX_KEPT_TEXT` characters as itself, anything else as the kind of value it is
(:data:`NUMBER`, :data:`BOOLEAN`, :data:`NULL`, :data:`LONG_TEXT`, :data:`OTHER`). The
check needs the texts (a combo's value) and every kind (to be sure which input each
position holds). Values known by name (an API prompt's inputs, a dict of widget values, a
subgraph instance's) are kept as name and text, and the widget inputs a link feeds by name.
Texts are interned: thousands of workflows repeat the same few sampler names.

Numbers (a size, a strength, a seed: checked against an input's range,
:mod:`watchman.stages.range_needs`) are kept apart from the node: each workflow keeps the
values of its nodes' :data:`NUMBER` positions, then of their numbers known by name
(``NodeUse.numbered``), as one run of doubles (:func:`packed_numbers`). Kept on the node,
a seed or a strength would make thousands of otherwise equal nodes each an object of
their own.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

NUMBER = 0
BOOLEAN = 1
NULL = 2
LONG_TEXT = 3
OTHER = 4
REFERENCE = 5
ODD_NUMBER = 6
"""The kinds of a kept position that is not a short text (``REFERENCE``: a text the
parse read as a model reference, kept there and checked by the model checks;
``ODD_NUMBER``: a number no double holds, NaN, an infinity or an integer past a double's
range, whose value is not kept)."""

MAX_KEPT_TEXT = 160
"""Longer texts are prompts or notes, never a list's choice: kept as LONG_TEXT."""

MAX_KEPT_VALUES = 128
"""A node with more widget values is not kept (and its values not checked)."""

WidgetKinds = tuple[str | int, ...]
NamedTexts = tuple[tuple[str, str], ...]


def widget_name(item: dict[str, Any]) -> str | None:
    """Return the widget name of one ``inputs`` entry (text or a number), else None."""
    widget = item.get("widget")
    name = widget.get("name") if isinstance(widget, dict) else None
    if isinstance(name, str):
        return name
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        return str(name)
    return None


def number_value(value: object) -> float | None:
    """Return a JSON number as the double kept for it, or None when it is no number (a
    boolean is not one) or no finite double holds it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _kind(value: object) -> str | int:
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= MAX_KEPT_TEXT else LONG_TEXT
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER if number_value(value) is not None else ODD_NUMBER
    if value is None:
        return NULL
    return OTHER


def widget_kinds(values: object) -> WidgetKinds:
    """Return a ``widgets_values`` list in kept form; () for anything else (a dict is
    named: :func:`named_texts`) or a list longer than :data:`MAX_KEPT_VALUES`."""
    if not isinstance(values, list) or len(values) > MAX_KEPT_VALUES:
        return ()
    return tuple(_kind(value) for value in values)


def widget_numbers(values: object) -> list[float]:
    """Return the values of the :data:`NUMBER` positions of what :func:`widget_kinds`
    keeps of ``values``, in order ([] when it keeps nothing)."""
    if not isinstance(values, list) or len(values) > MAX_KEPT_VALUES:
        return []
    return [number for number in map(number_value, values) if number is not None]


def named_numbers(pairs: Iterable[tuple[object, object]]) -> tuple[tuple[str, ...], list[float]]:
    """Return the names whose value is a number a double holds, and those values, at
    most :data:`MAX_KEPT_VALUES` of them."""
    names: list[str] = []
    numbers: list[float] = []
    for name, value in pairs:
        number = number_value(value)
        if isinstance(name, str) and number is not None:
            names.append(sys.intern(name))
            numbers.append(number)
            if len(names) >= MAX_KEPT_VALUES:
                break
    return tuple(names), numbers


def packed_numbers(numbers: Sequence[float]) -> bytes:
    """Return ``numbers`` as one run of doubles (what a workflow keeps: a double costs 8
    bytes there, 24 as an object)."""
    return struct.pack(f"<{len(numbers)}d", *numbers)


def unpacked_numbers(packed: bytes) -> tuple[float, ...]:
    """Return the doubles :func:`packed_numbers` packed.

    Raises:
        ValueError: ``packed`` is not a whole number of doubles.
    """
    if len(packed) % 8:
        raise ValueError("kept numbers of another length")
    return struct.unpack(f"<{len(packed) // 8}d", packed)


def number_count(kinds: WidgetKinds) -> int:
    """How many kept numbers the :data:`NUMBER` positions of ``kinds`` hold."""
    return sum(1 for kind in kinds if type(kind) is int and kind == NUMBER)


def named_texts(pairs: Iterable[tuple[object, object]]) -> NamedTexts:
    """Return the pairs whose name and value are texts (the value at most
    :data:`MAX_KEPT_TEXT` characters), at most :data:`MAX_KEPT_VALUES` of them."""
    kept: list[tuple[str, str]] = []
    for name, value in pairs:
        if isinstance(name, str) and isinstance(value, str) and len(value) <= MAX_KEPT_TEXT:
            kept.append((sys.intern(name), sys.intern(value)))
            if len(kept) >= MAX_KEPT_VALUES:
                break
    return tuple(kept)


def named_nulls(pairs: Iterable[tuple[object, object]]) -> tuple[str, ...]:
    """Return the names whose value is null, bare or in the ``{"__value__": null}`` wrapper
    ComfyUI takes off before it reads a value, at most :data:`MAX_KEPT_VALUES` of them. A
    null is also what the reader makes of Python's ``NaN`` and ``Infinity`` tokens
    (:mod:`watchman.comfy.workflow_json`)."""
    names: list[str] = []
    for name, value in pairs:
        if isinstance(value, dict) and "__value__" in value:
            value = value["__value__"]
        if isinstance(name, str) and value is None:
            names.append(sys.intern(name))
            if len(names) >= MAX_KEPT_VALUES:
                break
    return tuple(names)


def linked_widgets(inputs: object, fed: Iterable[str] = ()) -> tuple[str, ...]:
    """Return the widget inputs of a UI node that a link feeds (whatever is at its other
    end: the widget's own value is then not what ComfyUI receives), with ``fed``."""
    names = set(fed)
    for item in inputs if isinstance(inputs, list) else ():
        if isinstance(item, dict) and item.get("link") is not None:
            name = widget_name(item)
            if name is not None:
                names.add(sys.intern(name))
    return tuple(sorted(names))


def without_texts(kinds: WidgetKinds, texts: Collection[str]) -> WidgetKinds:
    """Return ``kinds`` with each text among ``texts`` (a node's model references) as
    :data:`REFERENCE`: each is kept once, in the reference, and checked there. () when
    neither a text nor a number is left: then nothing of the node need be kept."""
    return _with_texts(
        tuple(REFERENCE if type(kind) is str and kind in texts else kind for kind in kinds)
    )


MAX_SHARED_KINDS = 1_024
"""Distinct kept lists without a text shared between nodes (see :func:`_with_texts`)."""

_SHARED_KINDS: dict[WidgetKinds, WidgetKinds] = {}


def _with_texts(kinds: WidgetKinds) -> WidgetKinds:
    # No text and no number (true, null, a long prompt): nothing to check, nothing worth
    # keeping. A number kept means its position is kept with it.
    if any(type(kind) is str for kind in kinds):
        return kinds
    if NUMBER not in kinds:
        return ()
    # Numbers only (a size, a strength): a few shapes repeated by thousands of nodes,
    # one tuple each, as texts are interned.
    shared = _SHARED_KINDS.get(kinds)
    if shared is None and len(_SHARED_KINDS) < MAX_SHARED_KINDS:
        shared = _SHARED_KINDS[kinds] = kinds
    return shared if shared is not None else kinds


def ui_values(
    node: Mapping[str, Any], given: Mapping[str, object], fed: Iterable[str]
) -> tuple[WidgetKinds, NamedTexts, tuple[str, ...], tuple[str, ...], list[float], tuple[str, ...]]:
    """Return what is kept of one UI node's values: its ``widgets_values`` list, its
    named values (a dict of widget values, then what its subgraph instance hands it:
    ``given``), its linked widget inputs (``fed``: those a real node outside feeds), the
    names of its named numbers, its numbers (those of the list's :data:`NUMBER`
    positions, then the named ones) and the names of its named nulls."""
    values = node.get("widgets_values")
    linked = linked_widgets(node.get("inputs"), fed)
    # A dict's value of a linked input is a stale copy, as a list's is; what the
    # instance hands down is the value ComfyUI gets.
    named = (
        [(k, v) for k, v in values.items() if k not in linked] if isinstance(values, dict) else []
    )
    named.extend(given.items())
    kinds = _with_texts(widget_kinds(values))
    numbered, by_name = named_numbers(named)
    numbers = widget_numbers(values) if kinds else []
    return kinds, named_texts(named), linked, numbered, numbers + by_name, named_nulls(named)
