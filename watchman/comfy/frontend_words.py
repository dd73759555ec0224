"""Whether a pack's own input type is a socket every frontend lists in a saved node, read
from the words of the installed packs' scripts, never run.

The frontend makes an input a widget when its type is one of the frontend's own widget
types (:data:`FRONTEND_WIDGET_TYPES`) or one an extension registers
(``getCustomWidgets() { return { COLOR(node, ...) {...} } }``); any other type is a
socket, and a saved node lists every socket input in its ``inputs``. A saved node lacking
a required socket input of a pack's own type (``WANVIDEOMODEL``) was made from another
definition of its node type, and ComfyUI refuses the prompt (``required_input_missing``),
as it does for ComfyUI's own types (:data:`watchman.comfy.static_sockets.LISTED_TYPES`).

An extension can only register a widget for a type it names, so a type is taken as a
socket only when it is written in capitals (``[A-Z][A-Z0-9_]+``, as packs name their
data types), is none of the frontend's widget types, and no script of an enabled pack
holds it as a word (a link colour table naming it costs the judgement, never a wrong
one). Where a pack's scripts could not all be read (too many, too large, unreadable), no
pack type is judged.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

FRONTEND_WIDGET_TYPES = frozenset(
    {
        "INT", "FLOAT", "BOOLEAN", "STRING", "COMBO", "MARKDOWN", "IMAGEUPLOAD",
        "AUDIOUPLOAD", "VIDEOUPLOAD", "FILEUPLOAD", "WEBCAM", "AUDIO_RECORD", "LOAD_3D",
        "LOAD_3D_ANIMATION", "COLOR", "COLORS", "IMAGECOMPARE", "BOUNDING_BOX",
        "BOUNDING_BOXES", "CHART", "GALLERIA", "PAINTER", "COMPOSITOR", "TEXTAREA", "CURVE",
        "RANGE", "VIDEO_EDIT", "RESOLUTION_PREVIEW", "LIGHT_INFO_PREVIEW", "TREESELECT",
        "MULTISELECT", "SELECTBUTTON",
    }
)  # fmt: skip
"""Input types ComfyUI's frontend makes a widget for itself (``ComfyWidgets`` in its
``scripts/widgets.ts``, across its 1.x releases), beside the dynamic v3 kinds."""

DATA_TYPE = re.compile(r"[A-Z][A-Z0-9_]+")
"""How packs write a data type of their own: capitals, digits and underscores."""

_WORD = re.compile(rb"(?<![A-Za-z0-9_$])[A-Z][A-Z0-9_]+(?![A-Za-z0-9_$])")

MAX_WORDS = 20_000
"""Distinct capital words kept of one pack's scripts; past this, its words are not known
(real packs hold a few hundred: rgthree 421, Easy-Use 518)."""

Words = tuple[str, ...] | None
"""A pack's scripts' capital words, sorted; None when they are not all known."""


class ScriptWords:
    """The capital words (``MY_TYPE``) of one pack's scripts, gathered a script at a
    time so only one is held in memory. Linear in their length; never raises."""

    def __init__(self) -> None:
        self._words: set[bytes] | None = set()

    def add(self, text: bytes | None) -> None:
        """Take one script's bytes; None: a script that could not be read, so the
        pack's words are not known."""
        if self._words is None:
            return
        if text is None:
            self._words = None
            return
        self._words.update(_WORD.findall(text))
        if len(self._words) > MAX_WORDS:
            self._words = None

    def result(self) -> Words:
        """The sorted words, or None when a script was unread or they are too many."""
        if self._words is None:
            return None
        return tuple(sorted(sys.intern(word.decode("ascii")) for word in self._words))


def pack_data_type(type_name: str) -> bool:
    """Return whether ``type_name`` is written as a pack's own data type could be a
    listed socket: in capitals, not a frontend widget type, not a dynamic v3 kind
    (``COMFY_AUTOGROW_V3``)."""
    return (
        DATA_TYPE.fullmatch(type_name) is not None
        and type_name not in FRONTEND_WIDGET_TYPES
        and not (type_name.startswith("COMFY_") and type_name.endswith("_V3"))
    )


def named_in_scripts(packs_words: Iterable[Words]) -> frozenset[str] | None:
    """Return every capital word the enabled packs' scripts write, or None when one
    pack's are not known (then no pack type is judged)."""
    found: set[str] = set()
    for words in packs_words:
        if words is None:
            return None
        found.update(words)
    return frozenset(found)
