"""The texts one video or audio file gives, taken within one byte budget
(``MediaTexts``), and the cap on the boxes, blocks, keys and frames every format's reader
walks (``MAX_BOXES``)."""

from __future__ import annotations

from watchman.comfy.image_metadata import MAX_TEXT_BYTES

MAX_BOXES = 4_096
"""Boxes walked per level of an MP4, keys in its ``keys`` box, FLAC metadata blocks."""


class MediaTexts:
    """The ``(key, text)`` pairs found in one file, within one text budget."""

    def __init__(self, budget: int = MAX_TEXT_BYTES) -> None:
        self.pairs: list[tuple[str, str]] = []
        self.remaining = budget
        self.exceeded = False

    def add(self, key: str, raw: bytes) -> None:
        """Keep ``raw`` (cut at its first NUL, decoded as UTF-8) under ``key`` (stripped,
        lower-case) when it fits in what is left of the budget; a text that does not is
        dropped, the rest of the budget with it, and ``exceeded`` is set."""
        if len(raw) > self.remaining:
            self.remaining, self.exceeded = 0, True
            return
        self.remaining -= len(raw)
        self.pairs.append(
            (key.strip().lower(), raw.split(b"\x00", 1)[0].decode("utf-8", "replace"))
        )
