"""The range an INT or FLOAT input allows, and whether a value lies outside it, as ComfyUI
judges it before it runs a prompt. A range open both ways still says which of the two
types the input declares (what :mod:`watchman.comfy.value_conversion` needs).

ComfyUI's ``validate_inputs`` converts a widget value with ``int()`` (an INT input) or
``float()`` (a FLOAT input), then refuses it when it is below the input's ``min`` ("Value
0 smaller than min of 1") or above its ``max`` ("Value 1.0000000000000002 bigger than
max of 1.0"), comparing with the bounds exactly as the definition gives them; an input
the node's own ``VALIDATE_INPUTS`` takes is left to it.

A kept value is a double (:mod:`watchman.comfy.widget_values`): exact for every value a
workflow can hold but an integer of more than 53 bits. Such a one is judged only when the
rounded value is past the rounded bound: rounding keeps order, so the integer is past the
bound too; at the bound itself it is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Bound = int | float

EXACT_INTEGERS = 2**53
"""Every integer below this in magnitude is a double exactly."""


@dataclass(frozen=True, slots=True)
class NumberRange:
    """What an INT (``integer``) or FLOAT input allows: its ``min`` and ``max`` as the
    definition writes them (None: that side is open; both may be)."""

    integer: bool
    minimum: Bound | None
    maximum: Bound | None

    def to_json(self) -> list[object]:
        """Return the range as ``[integer, min, max]``."""
        return [self.integer, self.minimum, self.maximum]


JSON_INTEGERS = (-(2**63), 2**64)
"""The integers the state files keep as integers (orjson writes no other, and reads a
longer one back as a double)."""


def bound(value: object) -> Bound | None:
    """Return ``value`` when it is a finite number a bound can be (an int whose double is
    finite, or a finite float; never a boolean), else None. An int past
    :data:`JSON_INTEGERS` (ComfyUI's own ``-0xffffffffffffffff``) is its double, as the
    state files read it back: kept values are doubles, so the comparison is the same."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        as_double = float(value)
    except OverflowError:
        return None
    if not math.isfinite(as_double):
        return None
    if isinstance(value, int) and not JSON_INTEGERS[0] <= value < JSON_INTEGERS[1]:
        return as_double
    return value


MAX_SHARED_RANGES = 4_096
"""Distinct ranges kept as one object each (see :func:`number_range`)."""

_SHARED_RANGES: dict[tuple[bool, type, Bound | None, type, Bound | None], NumberRange] = {}


def number_range(integer: bool, minimum: object, maximum: object) -> NumberRange:
    """Return the range of the bounds given (a bound that is no finite number is open;
    both open: only the input's type is known). Thousands of inputs share a few ranges (a
    seed's, a size's, a strength's): an equal one is the same object."""
    low, high = bound(minimum), bound(maximum)
    # The types are part of the key: 1 and 1.0 are equal, but ComfyUI says "min of 1.0".
    key = (integer, type(low), low, type(high), high)
    known = _SHARED_RANGES.get(key)
    if known is None:
        known = NumberRange(integer, low, high)
        if len(_SHARED_RANGES) < MAX_SHARED_RANGES:
            _SHARED_RANGES[key] = known
    return known


def range_from_options(head: object, options: Mapping[object, object]) -> NumberRange | None:
    """Return the range of an ``/object_info`` input whose type is ``head`` (``"INT"`` or
    ``"FLOAT"``, spelled exactly as ComfyUI compares it; anything else has none) from its
    options' ``min`` and ``max``."""
    if head not in ("INT", "FLOAT"):
        return None
    return number_range(head == "INT", options.get("min"), options.get("max"))


def range_from_json(data: object) -> NumberRange | None:
    """Return the range :meth:`NumberRange.to_json` wrote (``[true, null, null]``: an
    INT input with no bounds), or None when ``data`` is not one. Never raises."""
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], bool)):
        return None
    if any(side is not None and bound(side) is None for side in data[1:]):
        return None  # a bound of another kind: not what to_json wrote
    return number_range(data[0], data[1], data[2])


Side = Literal["below", "above"]


def outside(value: float, allowed: NumberRange) -> Side | None:
    """Return on which side of ``allowed`` ComfyUI finds ``value`` (a kept double), or
    None when it is inside, or when that cannot be told (not finite, or an integer past
    :data:`EXACT_INTEGERS` that rounds onto the bound)."""
    if not math.isfinite(value):
        return None
    low, high = allowed.minimum, allowed.maximum
    if abs(value) >= EXACT_INTEGERS:
        # The kept double may be a rounded integer: compare rounded with rounded.
        if low is not None and value < float(low):
            return "below"
        if high is not None and value > float(high):
            return "above"
        return None
    read: Bound = int(value) if allowed.integer else value  # int() truncates, as ComfyUI's
    if low is not None and read < low:
        return "below"
    if high is not None and read > high:
        return "above"
    return None


def read_text(text: str, integer: bool) -> float | None:
    """Return the number ComfyUI's ``int()`` or ``float()`` reads from a text value (an
    API prompt's ``"20"``) as a double, or None when it reads none (ComfyUI then refuses
    the value as of another type: :mod:`watchman.stages.type_needs`) or one no double
    holds."""
    try:
        number: Bound = int(text) if integer else float(text)
        result = float(number)
    except (ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None
