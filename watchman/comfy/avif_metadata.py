"""The workflow of an AVIF image: its ``Exif`` item holds ``workflow:{…}`` and
``prompt:{…}`` strings, as a WebP's EXIF chunk does, and the ComfyUI frontend reads them
from there.

An AVIF file is an ISO-BMFF file whose ``meta`` box lists its items (``iinf``) and where
each one's bytes are (``iloc``: extents in the file, or in the ``meta`` box's own
``idat``). Only the ``meta`` box (at most ``MAX_META_BYTES``) and the ``Exif`` item's
extents (at most ``MAX_TEXT_BYTES`` in all) are read, never the picture.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from watchman.comfy.image_metadata import MAX_TEXT_BYTES, exif_workflow_values
from watchman.comfy.media_texts import MAX_BOXES, MediaTexts
from watchman.comfy.mp4_metadata import boxes, child_box, top_level_boxes

AVIF_BRANDS = (b"avif", b"avis")
MAX_META_BYTES = MAX_TEXT_BYTES + 1024 * 1024
"""A larger ``meta`` box is not read (it lists items; an ``idat`` in it may hold the
EXIF block inline)."""
MAX_EXTENTS = 64
"""Extents of the ``Exif`` item read; an EXIF block is one or a few."""
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


def is_avif(head: bytes) -> bool:
    """Whether the first bytes ``head`` (at least 12) start an AVIF file: an ``ftyp`` box
    whose major brand is ``avif`` or ``avis``."""
    return head[4:8] == b"ftyp" and head[8:12] in AVIF_BRANDS


def avif_metadata(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the ``workflow`` / ``prompt`` strings of the ``Exif`` item of the
    AVIF file ``handle`` of ``size`` bytes.

    A file without a ``meta`` box, an ``Exif`` item or such strings adds nothing; a
    ``meta`` box or an ``Exif`` item past its limit marks the budget exceeded.

    Raises:
        struct.error: the item tables are cut short where their sizes point (the caller
            makes it the file's error). OSError: the file cannot be read.
    """
    for box_type, start, length in top_level_boxes(handle, size):
        if box_type != b"meta":
            continue
        if length > MAX_META_BYTES:
            texts.exceeded = True
            return
        handle.seek(start)
        meta = handle.read(length)
        exif = _exif_item(handle, size, meta, texts)
        if exif is not None:
            for key, raw in exif_workflow_values(_tiff_of(exif)):
                texts.add(key, raw)
        return


def _exif_item(handle: BinaryIO, size: int, meta: bytes, texts: MediaTexts) -> bytes | None:
    """Return the bytes of the ``Exif`` item the ``meta`` box content lists, or None."""
    item_info = child_box(meta, 4, len(meta), b"iinf")  # 4: the box's version and flags
    locations = child_box(meta, 4, len(meta), b"iloc")
    if item_info is None or locations is None:
        return None
    item_id = _exif_item_id(meta, *item_info)
    if item_id is None:
        return None
    found = _item_extents(meta, *locations, item_id)
    if found is None:
        return None
    method, extents = found
    if sum(length for _, length in extents) > MAX_TEXT_BYTES:
        texts.exceeded = True
        return None
    if method == 1:
        inline = child_box(meta, 4, len(meta), b"idat")
        if inline is None:
            return None
        data = meta[inline[0] : inline[1]]
        return b"".join(data[offset : offset + length] for offset, length in extents)
    if method != 0:
        return None
    pieces = []
    for offset, length in extents:
        if offset + length > size:
            raise struct.error(
                f"the Exif item claims bytes {offset}-{offset + length} past the end"
            )
        handle.seek(offset)
        pieces.append(handle.read(length))
    return b"".join(pieces)


def _exif_item_id(data: bytes, start: int, end: int) -> int | None:
    """Return the id of the first ``Exif`` entry of an ``iinf`` box's content."""
    if end - start < 6:
        return None
    version = data[start]
    entries_start = start + (6 if version == 0 else 8)
    for box_type, content_start, content_end in boxes(data, entries_start, end):
        if box_type != b"infe" or content_end - content_start < 12:
            continue
        entry_version = data[content_start]
        if entry_version == 2:
            item_id, kind = struct.unpack_from(">H2x4s", data, content_start + 4)
        elif entry_version == 3:
            item_id, kind = struct.unpack_from(">I2x4s", data, content_start + 4)
        else:
            continue  # versions 0 and 1 carry no item type
        if kind == b"Exif":
            return int(item_id)
    return None


def _item_extents(
    data: bytes, start: int, end: int, wanted: int
) -> tuple[int, list[tuple[int, int]]] | None:
    """Return the construction method and ``(offset, length)`` extents of item ``wanted``
    in an ``iloc`` box's content, or None when it is not listed (or has more than
    ``MAX_EXTENTS``).

    Raises:
        struct.error: the box is cut short where its counts point.
    """
    if end - start < 8:
        return None
    version = data[start]
    sizes, more = data[start + 4], data[start + 5]
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version in (1, 2) else 0
    position = start + 6
    count, position = _number(data, position, 4 if version == 2 else 2)
    for _ in range(min(count, MAX_BOXES)):
        item_id, position = _number(data, position, 4 if version == 2 else 2)
        method = 0
        if version in (1, 2):
            method, position = _number(data, position, 2)
            method &= 15
        position += 2  # data_reference_index
        base, position = _number(data, position, base_size)
        extent_count, position = _number(data, position, 2)
        extents_start = position
        position += extent_count * (index_size + offset_size + length_size)
        if position > end:
            raise struct.error("the iloc box is cut short")
        if item_id != wanted:
            continue
        if extent_count > MAX_EXTENTS:
            return None
        extents = []
        position = extents_start
        for _ in range(extent_count):
            position += index_size
            offset, position = _number(data, position, offset_size)
            length, position = _number(data, position, length_size)
            extents.append((base + offset, length))
        return method, extents
    return None


def _number(data: bytes, position: int, width: int) -> tuple[int, int]:
    """Return the big-endian unsigned number of ``width`` bytes (0, 2, 4 or 8) at
    ``position``, and the position after it."""
    if width == 0:
        return 0, position
    if width not in (2, 4, 8) or position + width > len(data):
        raise struct.error(f"a field of {width} bytes at {position} cannot be read")
    return int.from_bytes(data[position : position + width], "big"), position + width


def _tiff_of(item: bytes) -> bytes:
    """Return the TIFF block of an ``Exif`` item: after its 4-byte offset to the TIFF
    header, else wherever a TIFF header starts in its first bytes."""
    if len(item) >= 4:
        (skip,) = struct.unpack_from(">I", item, 0)
        if item[4 + skip : 8 + skip] in _TIFF_HEADERS:
            return item[4 + skip :]
    for header in _TIFF_HEADERS:
        found = item.find(header, 0, 64)
        if found >= 0:
            return item[found:]
    return b""
