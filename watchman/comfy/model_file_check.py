"""Is this file a model or something else saved under a model's name? Cheap checks only.

ComfyUI loads whatever file bears the name, so a truncated download, an empty file or a
login page saved as ``foo.safetensors`` fails at render time, long after the mistake. These
checks read a few bytes, never a whole file:

- a zero-length file;
- an HTML page or a JSON error body (text where a binary model belongs);
- a ``.safetensors`` file whose header is wrong: the first 8 bytes are the little-endian
  length of a JSON header, which must be a JSON object, and the largest ``data_offsets``
  end of its tensors must fit in the file after the header (a truncated file fails here).

Used by the inventory's health check and by the downloader before a file is renamed into
place. Pure functions of bytes and one open file; no imports of the file's contents.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

import orjson

SNIFF_BYTES = 4096
"""How much of a file's start the text checks look at."""
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""The safetensors library's own limit on the JSON header (100 MB): larger is not a model."""
BINARY_MODEL_EXTENSIONS = frozenset(
    {".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".gguf", ".onnx", ".pkl"}
)
"""Model formats that are never text: an HTML or JSON body under these names is wrong."""


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
    if extension_of(name) not in BINARY_MODEL_EXTENSIONS or not head:
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


def check_safetensors_header(handle: BinaryIO, size: int) -> FileProblem | None:
    """Return what is wrong with the safetensors header of the open file, or None.

    Reads the 8-byte length and the JSON header only. Takes the file's size in bytes.
    """
    if size < 8:
        return FileProblem("truncated", f"it is {size} bytes long, shorter than a header")
    raw = handle.read(8)
    if len(raw) < 8:
        return FileProblem("truncated", "it ends inside the header length")
    (header_length,) = struct.unpack("<Q", raw)
    if header_length == 0 or header_length > MAX_SAFETENSORS_HEADER:
        return FileProblem("bad_header", f"its header length {header_length} is not plausible")
    if 8 + header_length > size:
        return FileProblem(
            "truncated",
            f"its header claims {header_length} bytes but the file is {size} bytes long",
        )
    header_bytes = handle.read(header_length)
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

    Reads at most the first :data:`SNIFF_BYTES` and, for ``.safetensors``, the header.
    ``size`` saves a stat when the caller knows it; ``name`` is the name whose extension
    says the format (default: the path's own; a download part passes its target's).

    Raises:
        OSError: the file cannot be opened or read.
    """
    file_path = os.fspath(path)
    name = name or file_path
    if size == 0:
        return FileProblem("empty", "it is empty (0 bytes)")  # known without opening it
    # Unbuffered: read exactly the bytes looked at, not a buffer's worth more.
    with open(file_path, "rb", buffering=0) as handle:
        if size is None:
            size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return FileProblem("empty", "it is empty (0 bytes)")
        head = handle.read(SNIFF_BYTES)
        problem = sniff_text_body(head, name)
        if problem is not None:
            return problem
        if extension_of(name) in (".safetensors", ".sft"):
            handle.seek(0)
            return check_safetensors_header(handle, size)
    return None
