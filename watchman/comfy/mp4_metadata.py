"""The metadata of an ISO-BMFF file (MP4, MOV): the ``moov`` box found by walking the
top-level box headers and read alone (at most ``MAX_MOOV_BYTES``), then its ``udta``:
the ``meta`` item list (SaveVideo's ``mdta`` keys, iTunes items such as ``©cmt``) and
QuickTime ``©xxx`` texts."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from watchman.comfy.media_texts import MAX_BOXES, MediaTexts

MAX_MOOV_BYTES = 64 * 1024 * 1024
"""A larger ``moov`` box (the index of a very long video) is not read for metadata."""


def boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, content start, content end)`` of the boxes in ``data[start:end]``."""
    position = start
    for _ in range(MAX_BOXES):
        if position + 8 > end:
            return
        size, box_type = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, position + 8)
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield box_type, position + header, position + size
        position += size


def child_box(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    """Return ``(content start, content end)`` of the first ``wanted`` box in
    ``data[start:end]``, or None."""
    for box_type, content_start, content_end in boxes(data, start, end):
        if box_type == wanted:
            return content_start, content_end
    return None


def top_level_boxes(handle: BinaryIO, size: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, content start, content length)`` of the top-level boxes of the
    ISO-BMFF file ``handle`` of ``size`` bytes, reading their headers only (at most
    ``MAX_BOXES``); a content length is cut at the file's end.

    Raises:
        OSError: the file cannot be read.
    """
    position = 0
    for _ in range(MAX_BOXES):
        if position + 8 > size:
            return
        handle.seek(position)
        header = handle.read(16)
        if len(header) < 8:
            return
        box_size, box_type = struct.unpack_from(">I4s", header, 0)
        header_size = 8
        if box_size == 1 and len(header) == 16:
            (box_size,) = struct.unpack_from(">Q", header, 8)
            header_size = 16
        elif box_size == 0:
            box_size = size - position
        if box_size < header_size:
            return
        yield box_type, position + header_size, min(box_size, size - position) - header_size
        position += box_size


def mp4_metadata(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the metadata texts of the ISO-BMFF file ``handle`` of ``size``
    bytes: the ``moov`` box found by walking top-level box headers, then read alone.

    Raises:
        struct.error: the metadata is cut short where its sizes point (the caller makes it
            the file's error). OSError: the file cannot be read.
    """
    reads_left = 4  # a file of many 'moov' boxes is not read box after box
    for box_type, start, length in top_level_boxes(handle, size):
        if box_type not in (b"moov", b"udta"):
            continue
        if length > MAX_MOOV_BYTES:
            return
        reads_left -= 1
        handle.seek(start)
        content = handle.read(length)
        if box_type == b"udta":
            _user_data(content, 0, len(content), texts)
        else:
            found = child_box(content, 0, len(content), b"udta")
            if found is not None:
                _user_data(content, *found, texts)
        if texts.pairs or reads_left == 0:
            return


def _user_data(data: bytes, start: int, end: int, texts: MediaTexts) -> None:
    """Read a ``udta`` box: its ``meta`` item list and QuickTime ``©xxx`` texts."""
    for box_type, content_start, content_end in boxes(data, start, end):
        if box_type == b"meta":
            _meta(data, content_start, content_end, texts)
        elif box_type[:1] == b"\xa9" and content_end - content_start >= 4:
            # A QuickTime text: 2-byte length, 2-byte language, then the text.
            (length,) = struct.unpack_from(">H", data, content_start)
            text_start = content_start + 4
            texts.add(_box_name(box_type), data[text_start : min(text_start + length, content_end)])


def _box_name(box_type: bytes) -> str:
    return (
        "©" + box_type[1:].decode("latin-1")
        if box_type[:1] == b"\xa9"
        else box_type.decode("latin-1")
    )


def _meta(data: bytes, start: int, end: int, texts: MediaTexts) -> None:
    # ISO 'meta' is a full box (4 bytes of version and flags) and QuickTime's is not: the
    # children start where a box header of the 'hdlr' box is.
    if data[start + 4 : start + 8] != b"hdlr":
        start += 4
    keys: dict[int, str] = {}
    item_list: tuple[int, int] | None = None
    for box_type, content_start, content_end in boxes(data, start, end):
        if box_type == b"keys":
            keys = _keys(data, content_start, content_end)
        elif box_type == b"ilst":
            item_list = (content_start, content_end)
    if item_list is None:
        return
    for box_type, content_start, content_end in boxes(data, *item_list):
        # An item is named by its 1-based index into 'keys' (SaveVideo's 'mdta' keys) or
        # by its own type (iTunes items such as '©cmt').
        name = keys.get(int.from_bytes(box_type, "big")) or _box_name(box_type)
        value = child_box(data, content_start, content_end, b"data")
        if value is not None and value[1] - value[0] >= 8:
            # 'data': 4 bytes of type indicator, 4 of locale, then the value.
            texts.add(name, data[value[0] + 8 : value[1]])


def _keys(data: bytes, start: int, end: int) -> dict[int, str]:
    if start + 8 > end:
        return {}
    (count,) = struct.unpack_from(">I", data, start + 4)
    keys: dict[int, str] = {}
    position = start + 8
    for index in range(1, min(count, MAX_BOXES) + 1):
        if position + 8 > end:
            break
        (length,) = struct.unpack_from(">I", data, position)
        if length < 8 or position + length > end:
            break
        keys[index] = data[position + 8 : position + length].decode("utf-8", "replace")
        position += length
    return keys
