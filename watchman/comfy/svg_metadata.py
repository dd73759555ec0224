"""The workflow of an SVG image, as ComfyUI's SaveSVGNode writes it: a ``<metadata>``
element right after the opening ``<svg>`` tag, holding in a CDATA section one JSON
object with ``prompt`` and ``workflow`` members (the frontend takes the first
``<metadata>`` whose content is only a CDATA section, in any case).

The file is text, not XML to us: no parser, no entities, no external references. Only its
first ``MAX_SVG_BYTES`` are read, and each marker is found once, so the work is linear in
what was read.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from watchman.comfy.image_metadata import MAX_TEXT_BYTES
from watchman.comfy.media_texts import MediaTexts

MAX_SVG_BYTES = MAX_TEXT_BYTES + 1024 * 1024
"""The head of an SVG read for its metadata: the workflow texts may take
``MAX_TEXT_BYTES``, and ComfyUI writes them before the drawing."""

SVG_METADATA_KEY = "svg metadata"
"""The key its ``<metadata>`` text is added under (a JSON object holding the workflow)."""

_OPENING = re.compile(rb"<metadata>\s*<!\[CDATA\[", re.IGNORECASE)
_CLOSING = re.compile(rb"\]\]>\s*</metadata>", re.IGNORECASE)
_TEXT_START = (b"<?xml", b"<svg", b"<!--", b"<!doctype")


def looks_like_svg(head: bytes) -> bool:
    """Whether the first bytes ``head`` of a file start an XML or SVG text (a byte order
    mark and white space allowed before it)."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:9].lower()
    return start.startswith(_TEXT_START)


def svg_metadata(handle: BinaryIO, texts: MediaTexts) -> None:
    """Add to ``texts``, under :data:`SVG_METADATA_KEY`, the CDATA content of the first
    ``<metadata>`` element of the SVG ``handle`` whose content is a CDATA section alone.

    A text without such an element in its first ``MAX_SVG_BYTES`` adds nothing.

    Raises:
        OSError: the file cannot be read.
    """
    handle.seek(0)
    data = handle.read(MAX_SVG_BYTES)
    opening = _OPENING.search(data)
    if opening is None:
        return
    # Any closing that would end a later opening would end this first one too, so one
    # search from here decides, as the frontend's lazy pattern does.
    closing = _CLOSING.search(data, opening.end())
    if closing is None:
        return
    texts.add(SVG_METADATA_KEY, data[opening.end() : closing.start()].strip())
