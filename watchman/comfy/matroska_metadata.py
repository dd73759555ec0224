"""The tags of a Matroska file (WebM, MKV): ``SimpleTag`` elements searched for in the
file's first ``MATROSKA_HEAD_BYTES`` and last ``MATROSKA_TAIL_BYTES``, where muxers put
them, at most ``MAX_TAGS`` of them."""

from __future__ import annotations

from typing import BinaryIO

from watchman.comfy.media_texts import MediaTexts

MATROSKA_HEAD_BYTES = 4 * 1024 * 1024
MATROSKA_TAIL_BYTES = 1024 * 1024
MAX_TAGS = 10_000
_SIMPLE_TAG = b"\x67\xc8"
_TAG_NAME = 0x45A3
_TAG_STRING = 0x4487


def _vint(data: bytes, position: int, keep_marker: bool) -> tuple[int, int] | None:
    """Return an EBML variable-length integer at ``position`` and its length in bytes."""
    if position >= len(data):
        return None
    first = data[position]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or position + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[position + 1 : position + length]:
        value = (value << 8) | byte
    return value, length


def matroska_tags(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the ``SimpleTag``s found in the head and the tail of the Matroska
    file ``handle`` of ``size`` bytes.

    Raises:
        OSError: the file cannot be read (a tag cut short is skipped).
    """
    handle.seek(0)
    windows = [handle.read(min(size, MATROSKA_HEAD_BYTES))]
    if size > MATROSKA_HEAD_BYTES:
        handle.seek(max(MATROSKA_HEAD_BYTES, size - MATROSKA_TAIL_BYTES))
        windows.append(handle.read(MATROSKA_TAIL_BYTES))
    seen = 0
    for window in windows:
        position = window.find(_SIMPLE_TAG)
        while position >= 0 and seen < MAX_TAGS:
            seen += 1
            end = _simple_tag(window, position + 2, texts)
            position = window.find(_SIMPLE_TAG, max(end, position + 2))


def _simple_tag(data: bytes, position: int, texts: MediaTexts) -> int:
    """Read one ``SimpleTag`` whose size starts at ``position``; return where it ends (or
    ``position`` when it is not one)."""
    size = _vint(data, position, keep_marker=False)
    if size is None:
        return position
    start = position + size[1]
    end = start + size[0]
    if end > len(data):
        return position
    name: bytes | None = None
    value: bytes | None = None
    cursor = start
    for _ in range(64):
        element = _vint(data, cursor, keep_marker=True)
        if element is None:
            break
        length = _vint(data, cursor + element[1], keep_marker=False)
        if length is None:
            break
        content = cursor + element[1] + length[1]
        if content + length[0] > end:
            break
        if element[0] == _TAG_NAME:
            name = data[content : content + length[0]]
        elif element[0] == _TAG_STRING:
            value = data[content : content + length[0]]
        cursor = content + length[0]
        if cursor >= end:
            break
    if name is not None and value is not None and len(name) <= 64:
        texts.add(name.decode("utf-8", "replace"), value)
    return end
