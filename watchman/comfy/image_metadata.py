"""Workflows embedded in PNG and WebP images, read with struct and zlib only.

ComfyUI's SaveImage writes PNG text chunks keyed ``prompt`` (API format) and ``workflow``
(UI format); other tools use ``iTXt`` or compressed ``zTXt``. SaveAnimatedWEBP writes an
``EXIF`` chunk whose IFD0 holds ASCII strings ``"prompt:{...}"`` (tag 0x0110, Model) and
``"workflow:{...}"`` (tag 0x010F, Make, counting down for further extra_pnginfo keys).

Everything is bounded: a compressed chunk never inflates beyond ``MAX_TEXT_BYTES``, the
number of chunks and IFD entries read is capped, and every offset is checked against the
data. Nothing is decoded as an image.
"""

from __future__ import annotations

import logging
import struct
import zlib

from watchman.errors import WorkflowError

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 64 * 1024 * 1024
"""Largest text a chunk may inflate to; a larger one is ignored."""
MAX_CHUNKS = 100_000
MAX_IFD_ENTRIES = 1_000
WORKFLOW_KEYS = ("workflow", "prompt")


def image_kind(data: bytes) -> str | None:
    """Return ``"png"`` or ``"webp"`` when ``data`` starts like one, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _inflate(payload: bytes) -> str | None:
    """Return the zlib-inflated text of ``payload``, or None when corrupt or too large."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(payload, MAX_TEXT_BYTES)
    except zlib.error:
        return None
    if inflater.unconsumed_tail:
        logger.warning(
            "A compressed image text chunk inflates beyond %d bytes; ignored.", MAX_TEXT_BYTES
        )
        return None
    return raw.decode("utf-8", errors="replace")


def _png_text(chunk_type: bytes, body: bytes) -> tuple[str, str] | None:
    keyword, separator, rest = body.partition(b"\x00")
    if not separator:
        return None
    key = keyword.decode("latin-1")
    if chunk_type == b"tEXt":
        return key, rest.decode("latin-1")
    if chunk_type == b"zTXt":
        text = _inflate(rest[1:]) if rest[:1] == b"\x00" else None
        return (key, text) if text is not None else None
    # iTXt: compression flag, method, language tag \0, translated keyword \0, text.
    if len(rest) < 2:
        return None
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        return None
    if compressed:
        text = _inflate(parts[2]) if method == 0 else None
        return (key, text) if text is not None else None
    return key, parts[2].decode("utf-8", errors="replace")


def png_texts(data: bytes) -> dict[str, str]:
    """Return the text chunks (tEXt, zTXt, iTXt) of PNG ``data`` by keyword.

    Stops at IEND, at a truncated chunk, or after ``MAX_CHUNKS``; the first chunk of a
    keyword wins. Never raises on content.
    """
    texts: dict[str, str] = {}
    position = len(PNG_SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if position + 8 > len(data):
            break
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        body_start = position + 8
        if body_start + length > len(data):
            break
        if chunk_type in (b"tEXt", b"zTXt", b"iTXt"):
            found = _png_text(chunk_type, data[body_start : body_start + length])
            if found is not None and found[0] not in texts:
                texts[found[0]] = found[1]
        if chunk_type == b"IEND":
            break
        position = body_start + length + 4
    return texts


def _webp_chunks(data: bytes) -> dict[bytes, bytes]:
    chunks: dict[bytes, bytes] = {}
    position = 12
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    for _ in range(MAX_CHUNKS):
        if position + 8 > end:
            break
        fourcc, size = struct.unpack("<4sI", data[position : position + 8])
        body = data[position + 8 : position + 8 + size]
        if len(body) < size:
            break
        chunks.setdefault(fourcc, body)
        position += 8 + size + (size & 1)
    return chunks


def exif_strings(exif: bytes) -> list[str]:
    """Return the ASCII / UNDEFINED string values of an EXIF block's IFD0 and Exif IFD.

    Takes the EXIF payload (with or without the ``Exif\\0\\0`` prefix). Returns the
    strings in entry order, NUL-stripped. Never raises on content.
    """
    tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return []
    strings: list[str] = []
    pending = [struct.unpack(order + "I", tiff[4:8])[0]]
    visited: set[int] = set()
    while pending:
        offset = pending.pop(0)
        if offset in visited or offset + 2 > len(tiff):
            continue
        visited.add(offset)
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for index in range(min(count, MAX_IFD_ENTRIES)):
            entry = offset + 2 + 12 * index
            if entry + 12 > len(tiff):
                break
            tag, kind, length = struct.unpack(order + "HHI", tiff[entry : entry + 8])
            if tag == 0x8769 and kind == 4:  # pointer to the Exif sub-IFD
                pending.append(struct.unpack(order + "I", tiff[entry + 8 : entry + 12])[0])
                continue
            if kind not in (2, 7):
                continue
            if length <= 4:
                raw = tiff[entry + 8 : entry + 8 + length]
            else:
                (start,) = struct.unpack(order + "I", tiff[entry + 8 : entry + 12])
                if start + length > len(tiff):
                    continue
                raw = tiff[start : start + length]
            strings.append(raw.rstrip(b"\x00").decode("utf-8", errors="replace"))
    return strings


def webp_texts(data: bytes) -> dict[str, str]:
    """Return ``key -> text`` from the ``key:text`` strings in a WebP's EXIF chunk.

    Keys are lower-cased (``Workflow:`` and ``workflow:`` alike); the first wins.
    Never raises on content.
    """
    exif = _webp_chunks(data).get(b"EXIF")
    texts: dict[str, str] = {}
    for value in exif_strings(exif) if exif else []:
        key, separator, text = value.partition(":")
        if separator and key.strip() and len(key) < 64:
            texts.setdefault(key.strip().lower(), text)
    return texts


def workflow_texts(data: bytes, kind: str, name: str) -> dict[str, str]:
    """Return the ``workflow`` / ``prompt`` texts embedded in an image.

    Takes the bytes, ``"png"`` or ``"webp"`` (see :func:`image_kind`) and a name for
    messages. Keys are lower-cased; other keys are left out. Raises WorkflowError when the
    image structure is unreadable.
    """
    try:
        texts = png_texts(data) if kind == "png" else webp_texts(data)
    except struct.error as error:
        raise WorkflowError(f"{name} is a damaged {kind.upper()} image ({error}).") from error
    lowered = {key.lower(): value for key, value in texts.items()}
    return {key: lowered[key] for key in WORKFLOW_KEYS if key in lowered}
