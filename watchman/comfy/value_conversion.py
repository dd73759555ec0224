"""Whether ComfyUI can read a value as the type its input declares: the first thing it
does with every input value that is not a link, before it runs a prompt.

ComfyUI's ``validate_inputs`` (``execution.py``) takes a ``{"__value__": ...}`` wrapper
off, then converts the value: ``int()`` for an INT input, ``float()`` for a FLOAT one,
``str()`` for a STRING one, ``bool()`` for a BOOLEAN one. When that raises, the node is
refused with ``invalid_input_type`` ("Failed to convert an input value to a INT value"),
and with it every output that needs the node. It converts every input the definition
declares, also those the node's own ``VALIDATE_INPUTS`` takes: that skips only the range
and list checks that follow. ``str()`` and ``bool()`` take any value a workflow can hold,
so only INT and FLOAT inputs refuse one.

A text is what a workflow holds where a number goes (an API prompt's ``"steps": "20"``):
``int()`` reads a whole number written in digits, signs, underscores between digits and
spaces around them (``" 20 "``, ``"1_000"``), not ``"1.5"``, ``"1e3"`` nor ``""``;
``float()`` also reads decimals, exponents, ``"nan"`` and ``"inf"``.
"""

from __future__ import annotations

from typing import Literal

NumberType = Literal["INT", "FLOAT"]


def number_type(integer: bool) -> NumberType:
    """The type an input declares, as ComfyUI spells it."""
    return "INT" if integer else "FLOAT"


def text_converts(text: str, integer: bool) -> bool:
    """Return whether ComfyUI's ``int()`` (an INT input: ``integer``) or ``float()`` (a
    FLOAT one) reads ``text``. Never raises."""
    try:
        if integer:
            int(text)
        else:
            float(text)
    except ValueError:  # the only error either raises for a text
        return False
    return True
