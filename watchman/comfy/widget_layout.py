"""Which input each widget value of a UI node holds, from a live ComfyUI's node definition.

The frontend makes one widget per input whose type is a widget type (a list or COMBO,
INT, FLOAT, STRING, BOOLEAN; not ``forceInput``), required inputs first, in the order
``/object_info`` gives them, and stores their values as a bare list. It adds values of
its own: a ``control_after_generate`` choice after a number or list that asks for one
(and after ``seed``-like numbers in older frontends), a filter text after such a list in
newer ones, and an upload button's value after a list with an ``*_upload`` option. Packs'
scripts may add or hide widgets too, and an older workflow lacks inputs added since.

So a layout is only a hypothesis: :func:`place_values` accepts it for a node only when
every stored value fits its slot's kind and none is left over; otherwise the node's
values are not named at all. A value is never checked against the wrong input's list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from watchman.comfy.loaders import CONTROL_VALUES
from watchman.comfy.number_ranges import NumberRange, range_from_json, range_from_options
from watchman.comfy.widget_values import (
    BOOLEAN,
    LONG_TEXT,
    NULL,
    NUMBER,
    ODD_NUMBER,
    REFERENCE,
    WidgetKinds,
)

SlotKind = Literal["combo", "number", "boolean", "text", "control", "filter", "upload", "any"]

MAX_LAYOUT_INPUTS = 256
"""A definition with more inputs is not laid out (its nodes' values are not named)."""

SEED_NAMES = frozenset({"seed", "noise_seed"})
"""Numbers older frontends gave a ``control_after_generate`` value without being asked."""

MAX_CHECKED_CHOICES = 4_096
"""A longer list (a loader's every file, at 100,000 models) keeps no choices: as a set per
node type and input it would cost a live server's answer hundreds of MiB, and its files
are the model checks' to judge."""

UPLOAD_VALUES = frozenset({"image", "video", "audio", "file", "model"})
"""What an upload button stores as its value (the kind of file it takes)."""


@dataclass(frozen=True, slots=True)
class WidgetSlot:
    """One stored widget value: the input it belongs to (None for a value the frontend
    adds), its kind, a list's choices when they are all texts (None: not checked),
    whether some frontends leave it out, and for a list the node takes from
    ``comfy.samplers``, which one (:mod:`watchman.comfy.sampler_lists`): its choices are
    the install's, filled in by :func:`with_shared_lists`; for a number, the range its
    definition allows (None: not known, or open both ways)."""

    name: str | None
    kind: SlotKind
    choices: frozenset[str] | None = None
    optional: bool = False
    shared: str | None = None
    range: NumberRange | None = None


Layout = tuple[WidgetSlot, ...]

MAX_SHARED_SLOTS = 4_096
"""Distinct slots without choices kept as one object each (see :func:`shared_slot`)."""

_SHARED_SLOTS: dict[tuple[object, ...], WidgetSlot] = {}


def shared_slot(slot: WidgetSlot) -> WidgetSlot:
    """Return ``slot``, or an equal one made before: the layouts of thousands of node
    types repeat the same few number, text and control slots (a seed with its range).
    A slot with choices is its own: a list of choices is kept by its layout alone."""
    if slot.choices is not None:
        return slot
    bounds = slot.range
    key = (
        slot.name, slot.kind, slot.optional, slot.shared,
        None if bounds is None else (bounds.integer, type(bounds.minimum), bounds.minimum,
                                     type(bounds.maximum), bounds.maximum),
    )  # fmt: skip
    known = _SHARED_SLOTS.get(key)
    if known is None:
        known = slot
        if len(_SHARED_SLOTS) < MAX_SHARED_SLOTS:
            _SHARED_SLOTS[key] = slot
    return known


SLOT_KINDS: frozenset[str] = frozenset(
    {"combo", "number", "boolean", "text", "control", "filter", "upload", "any"}
)


def slot_json(slot: WidgetSlot) -> list[object]:
    """Return ``slot`` as a JSON-ready list (choices sorted: a set has no order; the
    shared list's key, fifth, only when there is one or a range follows; a number's
    range, sixth, only when it has one)."""
    choices = sorted(slot.choices) if slot.choices is not None else None
    document: list[object] = [slot.name, slot.kind, choices, slot.optional]
    if slot.range is not None:
        return [*document, slot.shared, slot.range.to_json()]
    return [*document, slot.shared] if slot.shared is not None else document


def with_shared_lists(layout: Layout, lists: Mapping[str, frozenset[str]]) -> Layout:
    """Return ``layout`` with the choices of each slot naming a shared list taken from
    ``lists`` (None where ``lists`` lacks it: not checked)."""
    if not any(slot.shared is not None for slot in layout):
        return layout
    return tuple(
        slot if slot.shared is None else replace(slot, choices=lists.get(slot.shared))
        for slot in layout
    )


def layout_from_json(data: object) -> Layout:
    """Return the layout :func:`slot_json` wrote, slot by slot; () when ``data`` is absent
    or any slot is malformed (a layout is used whole or not at all). Never raises."""
    if not isinstance(data, list):
        return ()
    slots = []
    for item in data:
        if not (isinstance(item, list) and len(item) in (4, 5, 6)):
            return ()
        name, kind, choices, optional, *rest = item
        shared = rest[0] if rest else None
        allowed = range_from_json(rest[1]) if len(rest) > 1 else None
        if len(rest) > 1 and (allowed is None or kind != "number"):
            return ()
        if not (name is None or isinstance(name, str)) or kind not in SLOT_KINDS:
            return ()
        if not (shared is None or isinstance(shared, str)):
            return ()
        if choices is not None and not (
            isinstance(choices, list) and all(isinstance(choice, str) for choice in choices)
        ):
            return ()
        slots.append(
            shared_slot(
                WidgetSlot(
                    name,
                    kind,
                    frozenset(choices) if choices is not None else None,
                    optional is True,
                    shared,
                    allowed,
                )
            )
        )
    return tuple(slots)


def widget_layout(node_info: object) -> Layout | None:
    """Return the widget slots of one ``/object_info`` node definition, or None when the
    definition is malformed or has more than :data:`MAX_LAYOUT_INPUTS` inputs. Never
    raises."""
    if not isinstance(node_info, Mapping):
        return None
    inputs = node_info.get("input")
    if not isinstance(inputs, Mapping):
        return None
    order = node_info.get("input_order")
    slots: list[WidgetSlot] = []
    count = 0
    for section in ("required", "optional"):
        specs = inputs.get(section)
        if not isinstance(specs, Mapping):
            continue
        names = _ordered_names(specs, order.get(section) if isinstance(order, Mapping) else None)
        for name in names:
            count += 1
            if count > MAX_LAYOUT_INPUTS:
                return None
            slots.extend(_slots(name, specs[name]))
    return tuple(map(shared_slot, slots))


def _ordered_names(specs: Mapping[object, object], order: object) -> list[str]:
    # input_order (newer ComfyUI) is the definition's own order; without it, or when it
    # does not name exactly the same inputs, the document's order stands.
    names = [name for name in specs if isinstance(name, str)]
    if isinstance(order, list) and sorted(map(str, order)) == sorted(names):
        return [str(name) for name in order]
    return names


def _slots(name: str, spec: object) -> list[WidgetSlot]:
    if not isinstance(spec, (list, tuple)) or not spec:
        return []
    head = spec[0]
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    if options.get("forceInput"):
        return []
    controlled = bool(options.get("control_after_generate"))
    if isinstance(head, list) or head == "COMBO":
        listed = head if isinstance(head, list) else options.get("options")
        choices = _text_choices(listed) if not options.get("multiselect") else None
        kind: SlotKind = "any" if options.get("multiselect") else "combo"
        slots = [WidgetSlot(name, kind, choices)]
        if controlled:
            slots.append(WidgetSlot(None, "control", optional=True))
            slots.append(WidgetSlot(None, "filter", optional=True))
        if any(str(key).endswith("_upload") and value for key, value in options.items()):
            slots.append(WidgetSlot(None, "upload", optional=True))
        return slots
    if head in ("INT", "FLOAT"):
        slots = [WidgetSlot(name, "number", range=range_from_options(head, options))]
        if controlled or name in SEED_NAMES:
            slots.append(WidgetSlot(None, "control", optional=True))
        return slots
    if head == "STRING":
        return [WidgetSlot(name, "text")]
    if head == "BOOLEAN":
        return [WidgetSlot(name, "boolean")]
    return []  # a socket (MODEL, IMAGE, ...) or a pack's own type


def _text_choices(listed: object) -> frozenset[str] | None:
    """The choices when every one is a text and there are 1 to :data:`MAX_CHECKED_CHOICES`
    of them; else None (a list of numbers compares otherwise, an empty or remote list is
    filled at run time)."""
    if not isinstance(listed, list) or not listed or len(listed) > MAX_CHECKED_CHOICES:
        return None
    if not all(isinstance(choice, str) for choice in listed):
        return None
    return frozenset(listed)


def _fits(slot: WidgetSlot, value: str | int) -> bool:
    kind = slot.kind
    if kind == "any":
        return True
    if kind == "combo":
        # null: the frontend puts the list's first choice in its place when it loads.
        return (
            isinstance(value, str)
            or value in (REFERENCE, NULL)
            or (slot.choices is None and value in (NUMBER, ODD_NUMBER))
        )
    if kind == "number":
        return value in (NUMBER, ODD_NUMBER)
    if kind == "boolean":
        return value == BOOLEAN
    if kind in ("text", "filter"):
        return isinstance(value, str) or value in (LONG_TEXT, REFERENCE)
    if kind == "control":
        # true / false: what older frontends stored (now read as randomize / fixed).
        return (isinstance(value, str) and value in CONTROL_VALUES) or value == BOOLEAN
    return value == NULL or (isinstance(value, str) and value in UPLOAD_VALUES)  # upload


def placed_slots(layout: Layout, kinds: WidgetKinds) -> list[tuple[WidgetSlot, int]] | None:
    """Return each slot of ``layout`` that takes one of a node's stored widget values,
    with that value's position in ``kinds``
    (:func:`~watchman.comfy.widget_values.widget_kinds`), or None when ``kinds`` does not
    fit the layout exactly: a value of the wrong kind, one missing or one left over.

    A slot some frontends leave out takes the next value only when that value fits it.
    """
    placed: list[tuple[WidgetSlot, int]] = []
    position = 0
    for slot in layout:
        fits = position < len(kinds) and _fits(slot, kinds[position])
        if not fits:
            if slot.optional:
                continue
            return None
        placed.append((slot, position))
        position += 1
    return placed if position == len(kinds) else None


def place_values(layout: Layout, kinds: WidgetKinds) -> dict[str, str] | None:
    """Return the list values of a node's stored widget values by input name, or None
    when ``kinds`` does not fit the layout exactly (:func:`placed_slots`). Only the
    values of ``combo`` slots are returned (the ones checked against lists)."""
    placed = placed_slots(layout, kinds)
    if placed is None:
        return None
    found: dict[str, str] = {}
    for slot, position in placed:
        value = kinds[position]
        if slot.kind == "combo" and slot.name is not None and isinstance(value, str):
            found[slot.name] = value
    return found


def place_numbers(layout: Layout, kinds: WidgetKinds) -> dict[str, int] | None:
    """Return, by input name, which of a node's kept numbers (the values of its
    :data:`~watchman.comfy.widget_values.NUMBER` positions, in order) each number slot
    with a range holds, or None when ``kinds`` does not fit the layout exactly."""
    placed = placed_slots(layout, kinds)
    if placed is None:
        return None
    found: dict[str, int] = {}
    numbers = 0
    for slot, position in placed:
        value = kinds[position]
        if type(value) is not int or value != NUMBER:
            continue
        if slot.kind == "number" and slot.name is not None and slot.range is not None:
            found[slot.name] = numbers
        numbers += 1
    return found


def number_types(layout: Layout) -> dict[str, bool]:
    """Return, by input name, whether each number input of ``layout`` whose type is known
    is an INT (True) or a FLOAT (False)."""
    return {
        slot.name: slot.range.integer
        for slot in layout
        if slot.range is not None and slot.name is not None
    }
