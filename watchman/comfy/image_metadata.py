"""Workflows embedded in PNG and WebP images, read with struct and zlib only.

ComfyUI's SaveImage writes PNG text chunks keyed ``prompt`` (API format) and ``workflow``
(UI format); other tools use ``iTXt`` or compressed ``zTXt``. SaveAnimatedWEBP writes an
``EXIF`` chunk whose IFD0 holds ASCII strings ``"prompt:{...}"`` (tag 0x0110, Model) and
``"workflow:{...}"`` (tag 0x010F, Make, counting down for further extra_pnginfo keys).

Everything is bounded, because an image is a stranger's file like any workflow. Only the
texts that can hold a workflow are decoded at all: the keywords ``workflow`` and
``prompt`` (any case), the first readable one of each. Inflating stops at the cap while
streaming (``decompressobj`` with ``max_length``), and all the text taken from one image,
inflated or not and failed attempts included, is capped at ``MAX_TEXT_BYTES`` together.
The chunks, IFDs and IFD entries walked are capped, every offset is checked against the
data, and EXIF values that overlap are never decoded twice. Nothing is decoded as an image.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from watchman.errors import WorkflowError

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 32 * 1024 * 1024
"""Text bytes one image may yield in all (inflated, copied or tried); past it the rest is
ignored with a warning. Workflows embedded in images are a few MB at most."""
MAX_CHUNKS = 100_000
MAX_IFDS = 8
MAX_IFD_ENTRIES = 1_000
WORKFLOW_KEYS = ("workflow", "prompt")
_KEYWORD_BYTES = 80  # a PNG keyword is 1-79 bytes; an EXIF "key:" prefix is shorter


@dataclass
class _Budget:
    """What is left of ``MAX_TEXT_BYTES`` for one image."""

    remaining: int
    exceeded: bool = False

    def charge(self, size: int) -> bool:
        """Spend ``size`` bytes; return False (and spend what was left) when they do not fit."""
        if size > self.remaining:
            self.remaining = 0
            self.exceeded = True
            return False
        self.remaining -= size
        return True


def image_kind(data: bytes) -> str | None:
    """Return ``"png"`` or ``"webp"`` when ``data`` starts like one, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _too_much(budget: _Budget) -> None:
    logger.warning(
        "An image's workflow texts exceed %d bytes (MAX_TEXT_BYTES); the rest is ignored.",
        MAX_TEXT_BYTES,
    )


def _inflate(payload: bytes, budget: _Budget) -> str | None:
    """Return the zlib-inflated text of ``payload``, or None when corrupt or past the
    budget. Never produces more than what is left of the budget plus one byte."""
    if budget.remaining <= 0:
        return None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(payload, budget.remaining + 1)
    except zlib.error:
        return None
    if not budget.charge(len(raw)) or inflater.unconsumed_tail:
        _too_much(budget)
        budget.remaining, budget.exceeded = 0, True
        return None
    return raw.decode("utf-8", errors="replace")


def _copy_text(raw: bytes, encoding: str, budget: _Budget) -> str | None:
    if not budget.charge(len(raw)):
        _too_much(budget)
        return None
    return raw.decode(encoding, errors="replace")


def _png_text(chunk_type: bytes, rest: bytes, budget: _Budget) -> str | None:
    """Return the text of one text chunk after its keyword's NUL, or None."""
    if chunk_type == b"tEXt":
        return _copy_text(rest, "latin-1", budget)
    if chunk_type == b"zTXt":
        return _inflate(rest[1:], budget) if rest[:1] == b"\x00" else None
    # iTXt: compression flag, method, language tag \0, translated keyword \0, text.
    if len(rest) < 2:
        return None
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        return None
    if compressed:
        return _inflate(parts[2], budget) if method == 0 else None
    return _copy_text(parts[2], "utf-8", budget)


def png_texts(data: bytes, budget: _Budget | None = None) -> dict[str, str]:
    """Return the ``workflow`` / ``prompt`` texts (tEXt, zTXt, iTXt) of PNG ``data``.

    Keys are lower-cased; the first readable chunk of a key wins, and other keywords are
    never decoded or inflated. Stops at IEND, at a truncated chunk, after ``MAX_CHUNKS``
    or once both keys are found. Never raises on content.
    """
    texts: dict[str, str] = {}
    budget = budget or _Budget(MAX_TEXT_BYTES)
    position = len(PNG_SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if position + 8 > len(data):
            break
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        body_start = position + 8
        if body_start + length > len(data):
            break
        if chunk_type in (b"tEXt", b"zTXt", b"iTXt"):
            head = data[body_start : body_start + min(length, _KEYWORD_BYTES)]
            keyword, separator, _ = head.partition(b"\x00")
            key = keyword.decode("latin-1").lower()
            if separator and key in WORKFLOW_KEYS and key not in texts:
                rest = data[body_start + len(keyword) + 1 : body_start + length]
                text = _png_text(chunk_type, rest, budget)
                if text is not None:
                    texts[key] = text
                    if len(texts) == len(WORKFLOW_KEYS):
                        break
        if chunk_type == b"IEND":
            break
        position = body_start + length + 4
    return texts


def _webp_exif(data: bytes) -> bytes | None:
    """Return the first EXIF chunk's payload of WebP ``data``, or None."""
    position = 12
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    for _ in range(MAX_CHUNKS):
        if position + 8 > end:
            break
        fourcc, size = struct.unpack("<4sI", data[position : position + 8])
        if position + 8 + size > len(data):
            break
        if fourcc == b"EXIF":
            return data[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)
    return None


def _exif_values(exif: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(tiff, start, length)`` for the ASCII / UNDEFINED values of an EXIF block's
    IFD0 and Exif IFD, in entry order, without copying them. At most ``MAX_IFDS`` IFDs of
    ``MAX_IFD_ENTRIES`` entries each are read; offsets outside the data are skipped."""
    tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return
    pending = deque([struct.unpack(order + "I", tiff[4:8])[0]])
    visited: set[int] = set()
    while pending and len(visited) < MAX_IFDS:
        offset = pending.popleft()
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
                yield tiff, entry + 8, length
                continue
            (start,) = struct.unpack(order + "I", tiff[entry + 8 : entry + 12])
            if start + length <= len(tiff):
                yield tiff, start, length


def exif_strings(exif: bytes) -> list[str]:
    """Return the ASCII / UNDEFINED string values of an EXIF block's IFD0 and Exif IFD.

    Takes the EXIF payload (with or without the ``Exif\\0\\0`` prefix). Returns the
    strings in entry order, NUL-stripped, no more than ``MAX_TEXT_BYTES`` in all (values
    past it are left out). Never raises on content.
    """
    budget = _Budget(MAX_TEXT_BYTES)
    strings = []
    for tiff, start, length in _exif_values(exif):
        text = _copy_text(tiff[start : start + length].rstrip(b"\x00"), "utf-8", budget)
        if text is None:
            break
        strings.append(text)
    return strings


def _exif_key(tiff: bytes, start: int, length: int) -> str | None:
    """Return the lower-cased ``key`` of a ``key:text`` value, read from its first bytes."""
    head = tiff[start : start + min(length, _KEYWORD_BYTES)]
    key, separator, _ = head.partition(b":")
    if not separator:
        return None
    return key.decode("utf-8", errors="replace").strip().lower() or None


def exif_workflow_values(exif: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield ``(key, raw text)`` for the first ``workflow:…`` and ``prompt:…`` strings of
    an EXIF block (keys lower-cased, the text after the colon, trailing NULs cut), as
    ComfyUI's WebP saver writes them. No other value is copied, so overlapping entries
    cost nothing. Never raises on content."""
    seen: set[str] = set()
    for tiff, start, length in _exif_values(exif):
        key = _exif_key(tiff, start, length)
        if key not in WORKFLOW_KEYS or key in seen:
            continue
        seen.add(key)
        raw = tiff[start : start + length].rstrip(b"\x00")
        yield key, raw[raw.index(b":") + 1 :]
        if len(seen) == len(WORKFLOW_KEYS):
            return


def webp_texts(data: bytes, budget: _Budget | None = None) -> dict[str, str]:
    """Return the ``workflow`` / ``prompt`` texts of the ``key:text`` strings in a WebP's
    EXIF chunk (:func:`exif_workflow_values`). Keys are lower-cased (``Workflow:`` and
    ``workflow:`` alike); the first of each wins. Never raises on content.
    """
    exif = _webp_exif(data)
    texts: dict[str, str] = {}
    budget = budget or _Budget(MAX_TEXT_BYTES)
    for key, raw in exif_workflow_values(exif) if exif else ():
        text = _copy_text(raw, "utf-8", budget)
        if text is None:
            break
        texts[key] = text
    return texts


def workflow_texts(data: bytes, kind: str, name: str) -> dict[str, str]:
    """Return the ``workflow`` / ``prompt`` texts embedded in an image.

    Takes the bytes, ``"png"`` or ``"webp"`` (see :func:`image_kind`) and a name for
    messages. Keys are lower-cased; other keys are left out. Raises WorkflowError when the
    image structure is unreadable, or when no workflow text was read because the texts
    are larger than ``MAX_TEXT_BYTES`` (the message names the limit).
    """
    budget = _Budget(MAX_TEXT_BYTES)
    try:
        texts = png_texts(data, budget) if kind == "png" else webp_texts(data, budget)
    except struct.error as error:
        raise WorkflowError(f"{name} is a damaged {kind.upper()} image ({error}).") from error
    if not texts and budget.exceeded:
        raise WorkflowError(
            f"{name} is over a limit: its workflow text is larger than {MAX_TEXT_BYTES} "
            "bytes once inflated (MAX_TEXT_BYTES)."
        )
    return {key: texts[key] for key in WORKFLOW_KEYS if key in texts}
