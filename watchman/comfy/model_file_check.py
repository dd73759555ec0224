"""Is this file a model or something else saved under a model's name? Cheap checks only.

ComfyUI loads whatever file bears the name, so a truncated download, an empty file or a
login page saved as ``foo.safetensors`` fails at render time, long after the mistake. These
checks read a few bytes, never a whole file:

- a zero-length file;
- an HTML page or a JSON error body (text where a binary model belongs);
- a ``.safetensors`` file whose header is wrong: the first 8 bytes are the little-endian
  length of a JSON header, which must be a JSON object, and the largest ``data_offsets``
  end of its tensors must fit in the file after the header (a truncated file fails here);
- a ``.gguf`` file that does not open with GGUF's magic bytes and a known version;
- a zip archive (PyTorch's own format since 1.6 for ``.ckpt``, ``.pt``, ``.pth``, ``.bin``)
  with no end-of-central-directory record in its last 64 KiB: a cut download. PyTorch
  reads the archive from that record, so such a file cannot load.

Used by the inventory's health check and by the downloader before a file is renamed into
place. Pure functions of bytes and one open file; no imports of the file's contents.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from watchman.regular_files import READ_FLAGS

SNIFF_BYTES = 4096
"""How much of a file's start the text checks look at."""
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""The safetensors library's own limit on the JSON header (100 MB): larger is not a model."""
BINARY_MODEL_EXTENSIONS = frozenset(
    {".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".gguf", ".onnx", ".pkl"}
)
"""Model formats that are never text: an HTML or JSON body under these names is wrong."""
ReadAt = Callable[[int, int], bytes]
"""Reads ``length`` bytes at ``offset`` of a file (fewer at its end)."""


@dataclass(frozen=True)
class FileProblem:
    """Why a file is not the model its name says: a reason code and a sentence.

    Codes: ``empty``, ``html_page``, ``json_body``, ``bad_header``, ``truncated``.
    """

    reason: str
    detail: str


def extension_of(name: str) -> str:
    """Return the lower-case extension of ``name`` with its dot, or ``""``."""
    return os.path.splitext(name)[1].lower()


def sniff_text_body(head: bytes, name: str) -> FileProblem | None:
    """Return why ``head`` (a file's or body's first bytes) is text, not a binary model.

    Takes the first bytes (up to :data:`SNIFF_BYTES` are looked at) and the file name; only
    names with a binary model extension are judged. Returns None when ``head`` may well be
    a model.
    """
    return _sniff(head, extension_of(name))


def _sniff(head: bytes, extension: str) -> FileProblem | None:
    if extension not in BINARY_MODEL_EXTENSIONS or not head:
        return None
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:1024].lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")) or (
        lowered.startswith(b"<") and (b"<html" in lowered or b"<title" in lowered)
    ):
        return FileProblem("html_page", "it holds an HTML page, not a model")
    if text[:1] in (b"{", b"[") and b"\x00" not in text:
        # A safetensors header length whose low byte is 0x7b also starts with "{", but its
        # next bytes are NULs; a JSON body has none.
        return FileProblem("json_body", "it holds a JSON document (an error answer?), not a model")
    return None


def check_safetensors_header(head: bytes, size: int, read_at: ReadAt) -> FileProblem | None:
    """Return what is wrong with a safetensors file's header, or None.

    Takes the file's first bytes (``head``, usually :data:`SNIFF_BYTES`), its size in bytes
    and ``read_at(offset, length)``, which reads more of it when the header runs past
    ``head`` (most headers of small files fit in the first 4 KiB: one read in all). Reads
    the 8-byte length and the JSON header only.

    Raises:
        OSError: ``read_at`` could not read.
    """
    if size < 8:
        return FileProblem("truncated", f"it is {size} bytes long, shorter than a header")
    if len(head) < 8:
        return FileProblem("truncated", "it ends inside the header length")
    (header_length,) = struct.unpack_from("<Q", head)
    if header_length == 0 or header_length > MAX_SAFETENSORS_HEADER:
        return FileProblem("bad_header", f"its header length {header_length} is not plausible")
    if 8 + header_length > size:
        return FileProblem(
            "truncated",
            f"its header claims {header_length} bytes but the file is {size} bytes long",
        )
    if 8 + header_length <= len(head):
        header_bytes = head[8 : 8 + header_length]
    else:
        header_bytes = head[8:] + read_at(len(head), 8 + header_length - len(head))
    if len(header_bytes) < header_length:
        return FileProblem("truncated", "it ends inside its header")
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        return FileProblem("bad_header", "its header is not JSON")
    if not isinstance(header, dict):
        return FileProblem("bad_header", "its header is not a JSON object")
    data_end = 0
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        offsets = tensor.get("data_offsets") if isinstance(tensor, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            return FileProblem("bad_header", f"tensor {name[:80]!r} has no valid data_offsets")
        data_end = max(data_end, offsets[1])
    available = size - 8 - header_length
    if data_end > available:
        return FileProblem(
            "truncated",
            f"its tensors need {data_end} bytes of data but only {available} follow the header",
        )
    return None


def check_model_file(
    path: str | os.PathLike[str], size: int | None = None, *, name: str | None = None
) -> FileProblem | None:
    """Return what is wrong with the model file at ``path``, or None when it looks sound.

    Reads at most the first :data:`SNIFF_BYTES` and, for ``.safetensors``, the rest of
    the header when it runs past them. ``size`` saves a stat when the caller knows it;
    ``name`` is the name whose extension says the format (default: the path's own; a
    download part passes its target's).

    Raises:
        OSError: the file cannot be opened or read.
    """
    file_path = os.fspath(path)
    name = name or file_path
    if size == 0:
        return FileProblem("empty", "it is empty (0 bytes)")  # known without opening it
    # A bare descriptor and exact reads: at 100,000 files in a cold cycle, a buffered
    # file object per file and a second read of the same first bytes cost a third more.
    # The listing saw a regular file; O_NONBLOCK keeps a pipe swapped in since from
    # blocking the open or the reads (it reads as empty, or fails as this one file).
    descriptor = os.open(file_path, READ_FLAGS)
    try:
        if size is None:
            size = os.fstat(descriptor).st_size
        if size == 0:
            return FileProblem("empty", "it is empty (0 bytes)")
        head = os.read(descriptor, SNIFF_BYTES)
        extension = extension_of(name)
        problem = _sniff(head, extension)
        if problem is not None:
            return problem

        def read_at(offset: int, length: int) -> bytes:
            os.lseek(descriptor, offset, os.SEEK_SET)
            return _read_exactly(descriptor, length)

        if extension in (".safetensors", ".sft"):
            return check_safetensors_header(head, size, read_at)
        if extension == ".gguf":
            return check_gguf_header(head)
        if head.startswith(ZIP_LOCAL_HEADER):
            return check_zip_end(size, read_at)
    finally:
        os.close(descriptor)
    return None


GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = frozenset({1, 2, 3})
"""The GGUF format's versions so far (llama.cpp's ``gguf.h``); every file opens with the
magic and a 32-bit version, in the byte order of the file."""


def check_gguf_header(head: bytes) -> FileProblem | None:
    """Return what is wrong with the start of a ``.gguf`` file, or None.

    Takes the file's first bytes. Only the magic and the version are judged: a GGUF
    file's metadata can run to megabytes (an LLM's vocabulary), so its end is not sought.
    """
    if len(head) < 8:
        return FileProblem("truncated", f"it is {len(head)} bytes long, shorter than a GGUF header")
    if not head.startswith(GGUF_MAGIC):
        return FileProblem("bad_header", "it does not start as a GGUF file does (GGUF)")
    little, big = struct.unpack_from("<I", head, 4)[0], struct.unpack_from(">I", head, 4)[0]
    if little not in GGUF_VERSIONS and big not in GGUF_VERSIONS:
        return FileProblem("bad_header", f"its GGUF version {little} is not one that exists")
    return None


ZIP_LOCAL_HEADER = b"PK\x03\x04"
ZIP_END_RECORD = b"PK\x05\x06"
ZIP_END_RECORD_BYTES = 22
ZIP_MAX_COMMENT_BYTES = 0xFFFF


def check_zip_end(size: int, read_at: ReadAt) -> FileProblem | None:
    """Return why a file that starts as a zip archive is cut short, or None.

    Takes the file's size and ``read_at``. A zip archive ends with its end-of-central-
    directory record, followed only by an archive comment of at most 64 KiB; readers,
    PyTorch's among them, start from that record. Reads the last 22 bytes (PyTorch
    writes no comment), and the last 64 KiB only when the record is not there.

    Raises:
        OSError: ``read_at`` could not read.
    """
    if size < ZIP_END_RECORD_BYTES:
        return FileProblem("truncated", f"it is {size} bytes long, too short for a zip archive")
    last = read_at(size - ZIP_END_RECORD_BYTES, ZIP_END_RECORD_BYTES)
    if last[:4] == ZIP_END_RECORD and last[20:22] == b"\x00\x00":
        return None  # the record, saying no comment follows
    window = min(size, ZIP_END_RECORD_BYTES + ZIP_MAX_COMMENT_BYTES)
    tail = read_at(size - window, window)
    position = tail.rfind(ZIP_END_RECORD, 0, len(tail) - ZIP_END_RECORD_BYTES + 4)
    if position != -1:
        (comment_length,) = struct.unpack_from("<H", tail, position + 20)
        if position + ZIP_END_RECORD_BYTES + comment_length == len(tail):
            return None
    return FileProblem(
        "truncated",
        "it starts as a zip archive (PyTorch's format) but its end record is missing: "
        "the file was cut short",
    )


def _read_exactly(descriptor: int, length: int) -> bytes:
    """Read up to ``length`` bytes, fewer only at the end of the file."""
    pieces = []
    while length > 0:
        piece = os.read(descriptor, min(length, 1 << 24))
        if not piece:
            break
        pieces.append(piece)
        length -= len(piece)
    return b"".join(pieces)
