"""The workflow of a binary glTF file (GLB), as ComfyUI's SaveGLB writes it: the file's
first chunk is its JSON document, and ``asset.extras`` holds ``prompt`` and ``workflow``,
each as a JSON text (an object is taken too, as the frontend's reader does).

Only the 12-byte header and the JSON chunk are read, never the binary chunk with the mesh,
and the JSON chunk only when it fits the text budget (``MAX_GLB_JSON_BYTES``).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import orjson

from watchman.comfy.image_metadata import MAX_TEXT_BYTES, WORKFLOW_KEYS
from watchman.comfy.media_texts import MediaTexts

GLB_MAGIC = b"glTF"
_JSON_CHUNK = 0x4E4F534A  # "JSON", little-endian
MAX_GLB_JSON_BYTES = MAX_TEXT_BYTES + 1024 * 1024
"""A larger JSON chunk is not read: the workflow texts alone may take ``MAX_TEXT_BYTES``,
and the mesh's own description beside them is small."""


def glb_metadata(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the ``workflow`` / ``prompt`` of the GLB file ``handle`` of
    ``size`` bytes, read from its JSON chunk's ``asset.extras``.

    A JSON chunk that is missing, not JSON or without such extras adds nothing; one
    larger than ``MAX_GLB_JSON_BYTES`` marks the budget exceeded.

    Raises:
        struct.error: the header or the chunk header is cut short (the caller makes it the
            file's error). OSError: the file cannot be read.
    """
    handle.seek(0)
    header = handle.read(20)
    magic, _version, _length, chunk_length, chunk_type = struct.unpack("<4sIIII", header)
    if magic != GLB_MAGIC or chunk_type != _JSON_CHUNK:
        return
    if chunk_length > MAX_GLB_JSON_BYTES:
        texts.exceeded = True
        return
    if 20 + chunk_length > size:
        raise struct.error(f"the JSON chunk claims {chunk_length} bytes past the file's end")
    chunk = handle.read(chunk_length)
    try:
        document = orjson.loads(chunk)
    except orjson.JSONDecodeError:
        return
    asset = document.get("asset") if isinstance(document, dict) else None
    extras = asset.get("extras") if isinstance(asset, dict) else None
    if not isinstance(extras, dict):
        return
    for key in WORKFLOW_KEYS:
        value = extras.get(key)
        if isinstance(value, str):
            texts.add(key, value.encode("utf-8", "replace"))
        elif isinstance(value, dict):
            texts.add(key, orjson.dumps(value))
