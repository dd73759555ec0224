"""Workflows embedded in video and audio files (MP4 / MOV, WebM / MKV, FLAC, MP3, Opus /
Ogg), 3D models (GLB) and SVG and AVIF images, read with struct only and without reading
the media itself.

ComfyUI's own savers write the API prompt and the UI workflow as container metadata keyed
``prompt`` and ``workflow``: SaveVideo into an MP4's ``moov/udta/meta`` as ``mdta`` keys
with an ``ilst`` value per key, SaveWEBM as Matroska ``SimpleTag``s (``PROMPT``,
``WORKFLOW``), SaveAudio as FLAC Vorbis comments, SaveAudioMP3 as ID3v2 ``TXXX`` frames,
SaveAudioOpus as the comments of the Ogg stream's ``OpusTags`` packet. Video Helper
Suite's Video Combine writes one ``comment`` instead, a JSON object holding ``prompt`` (as
a JSON string) and ``workflow`` (an object): an iTunes ``©cmt`` item in MP4, a QuickTime
``©cmt`` / ``©des`` text in MOV, a ``COMMENT`` tag in WebM. Some writers encode a value as
a JSON string of the JSON text, once or more; such layers are peeled (at most
:data:`MAX_STRING_LAYERS`).

A video is a stranger's file like any workflow, and a large one: only the metadata is
read. An MP4's top-level boxes are walked by their headers (the ``moov`` box, often at
the end, is read alone, at most ``mp4_metadata.MAX_MOOV_BYTES``); a Matroska file's first
``MATROSKA_HEAD_BYTES`` and last ``MATROSKA_TAIL_BYTES`` are searched for tags (where
muxers put them; ``matroska_metadata``); a FLAC file's metadata blocks are walked up to
the audio; an MP3's ID3v2 tag (at its start) is read alone; an Ogg file's pages are read
only until its comment packet is whole (``audio_metadata``). Boxes, blocks, pages, keys
and tags walked are capped, every size is checked against what holds it, and all text
taken from one file is capped at ``image_metadata.MAX_TEXT_BYTES`` (``media_texts``).
SaveGLB writes them into a GLB's JSON chunk (``glb_metadata``), SaveSVGNode into an
SVG's ``<metadata>`` (``svg_metadata``); an AVIF image keeps them in its ``Exif`` item
(``avif_metadata``). This module tells the kinds apart, sends each to its reader, and
picks the workflow texts out of what they found.

The texts found are handed to the workflow reader as a small payload of their own
(:func:`media_payload`), so a 2 GB video costs a few reads and its entry's sha256 is that
of its embedded texts: a file re-encoded with the same workflow is the same workflow.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import orjson

from watchman.comfy.audio_metadata import flac_comments, id3_frames, ogg_comments
from watchman.comfy.avif_metadata import avif_metadata, is_avif
from watchman.comfy.glb_metadata import GLB_MAGIC, glb_metadata
from watchman.comfy.image_metadata import MAX_TEXT_BYTES, WORKFLOW_KEYS
from watchman.comfy.matroska_metadata import matroska_tags
from watchman.comfy.media_texts import MediaTexts
from watchman.comfy.mp4_metadata import mp4_metadata
from watchman.comfy.svg_metadata import SVG_METADATA_KEY, looks_like_svg, svg_metadata
from watchman.errors import WorkflowError

MEDIA_SUFFIXES: tuple[str, ...] = (
    ".mp4",
    ".mov",
    ".m4v",
    ".webm",
    ".mkv",
    ".flac",
    ".mp3",
    ".opus",
    ".ogg",
    ".glb",
    ".svg",
    ".avif",
)
"""File names read for a workflow embedded in their metadata alone: videos, audio, 3D
models (GLB), SVG and AVIF images."""

MEDIA_KIND_LABELS = {
    "mp4": "MP4 video",
    "webm": "WebM video",
    "flac": "FLAC audio",
    "mp3": "MP3 audio",
    "ogg": "Ogg audio",
    "glb": "GLB 3D model",
    "svg": "SVG image",
    "avif": "AVIF image",
    "unknown": "file of a kind not read",
}
_AN_LABELS = ("MP4", "MP3", "Ogg", "SVG", "AVIF")
"""Labels read with "an": the initialisms said letter by letter from a vowel sound."""
MAX_STRING_LAYERS = 3
COMMENT_KEYS = frozenset({"comment", "description", "desc", "©cmt", "©des", SVG_METADATA_KEY})
"""Keys whose text may be a JSON object holding ``workflow`` / ``prompt`` (Video Helper
Suite writes ``comment``; MOV files keep it as ``©cmt`` or ``©des``; SaveSVGNode writes
one in the SVG's ``<metadata>``)."""

_PAYLOAD_PREFIX = b"\x00comfywatchman-media:"


def with_article(label: str) -> str:
    """Return ``label`` (``"SVG image"``) after its indefinite article (``"an SVG image"``)."""
    return ("an " if label.startswith(_AN_LABELS) else "a ") + label


def media_kind(head: bytes) -> str | None:
    """Return ``"mp4"`` (ISO-BMFF, MOV too), ``"avif"`` (ISO-BMFF of an AVIF brand),
    ``"webm"`` (Matroska), ``"flac"``, ``"mp3"`` (with an ID3v2 tag), ``"ogg"``, ``"glb"``
    or ``"svg"`` (XML text) when the first bytes ``head`` (at least 12) start such a
    file, else None."""
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") and head[3:4] in (b"\x02", b"\x03", b"\x04"):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(GLB_MAGIC):
        return "glb"
    if is_avif(head):
        return "avif"
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"wide", b"free", b"mdat", b"skip"):
        return "mp4"
    if looks_like_svg(head):
        return "svg"
    return None


def read_media_texts(handle: BinaryIO, size: int, name: str) -> tuple[str, dict[str, str]]:
    """Return the file's kind and its embedded ``workflow`` / ``prompt`` texts.

    Takes an open binary file, its size and a name for messages; reads only the metadata.
    Keys are lower-case; a key absent from the result was not found. A file that is none
    of the kinds read is kind ``"unknown"`` with no texts (a video in another container
    is no workflow, and no error either).

    Raises:
        WorkflowError: the file is damaged where its metadata is, or its texts pass
            ``MAX_TEXT_BYTES`` before any workflow text was read.
        OSError: the file cannot be read.
    """
    head = handle.read(16)
    kind = media_kind(head)
    if kind is None:
        return "unknown", {}
    texts = MediaTexts(MAX_TEXT_BYTES)
    try:
        if kind == "flac":
            flac_comments(handle, size, texts)
        elif kind == "mp3":
            id3_frames(handle, head, texts)
        elif kind == "ogg":
            ogg_comments(handle, size, texts)
        elif kind == "webm":
            matroska_tags(handle, size, texts)
        elif kind == "glb":
            glb_metadata(handle, size, texts)
        elif kind == "svg":
            svg_metadata(handle, texts)
        elif kind == "avif":
            avif_metadata(handle, size, texts)
        else:
            mp4_metadata(handle, size, texts)
    except struct.error as error:
        raise WorkflowError(f"{name} is a damaged {MEDIA_KIND_LABELS[kind]} ({error}).") from error
    found = workflow_texts_of(texts.pairs)
    if not found and texts.exceeded:
        raise WorkflowError(
            f"{name} is over a limit: its metadata texts are larger than {MAX_TEXT_BYTES} "
            "bytes (MAX_TEXT_BYTES)."
        )
    return kind, found


def workflow_texts_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Return the ``workflow`` / ``prompt`` texts among metadata ``(key, text)`` pairs.

    A key ``workflow`` or ``prompt`` gives its text (string layers peeled); a comment-like
    key (:data:`COMMENT_KEYS`) whose text is a JSON object gives that object's
    ``workflow`` / ``prompt`` members. The first text of each key wins.
    """
    found: dict[str, str] = {}
    for key, text in pairs:
        if key in WORKFLOW_KEYS and key not in found:
            found[key] = _peeled(text)
    for key, text in pairs:
        if key not in COMMENT_KEYS or not text.lstrip().startswith("{"):
            continue
        try:
            holder = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(holder, dict):
            continue
        for wanted in WORKFLOW_KEYS:
            value = holder.get(wanted)
            if wanted in found or value is None:
                continue
            found[wanted] = (
                _peeled(value) if isinstance(value, str) else orjson.dumps(value).decode()
            )
    return {key: found[key] for key in WORKFLOW_KEYS if key in found}


def _peeled(text: str) -> str:
    """Return ``text`` with up to MAX_STRING_LAYERS layers of JSON string encoding removed."""
    for _ in range(MAX_STRING_LAYERS):
        if not text.lstrip().startswith('"'):
            break
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            break
        if not isinstance(inner, str):
            break
        text = inner
    return text


def media_payload(kind: str, texts: dict[str, str]) -> bytes:
    """Return the bytes the workflow reader takes for a media file: its kind and texts."""
    return _PAYLOAD_PREFIX + kind.encode() + b"\n" + orjson.dumps(texts)


def payload_texts(data: bytes) -> tuple[str, dict[str, str]] | None:
    """Return the kind and texts of a :func:`media_payload`, or None when ``data`` is not
    one (a file's own bytes).

    Raises:
        WorkflowError: ``data`` starts like a payload but is not one.
    """
    if not data.startswith(_PAYLOAD_PREFIX):
        return None
    kind, _, rest = data[len(_PAYLOAD_PREFIX) :].partition(b"\n")
    try:
        texts = orjson.loads(rest)
    except orjson.JSONDecodeError as error:
        raise WorkflowError("a media payload is damaged") from error
    label = kind.decode("ascii", "replace")
    if label not in MEDIA_KIND_LABELS or not isinstance(texts, dict):
        raise WorkflowError("a media payload is damaged")
    return label, {str(k): str(v) for k, v in texts.items() if k in WORKFLOW_KEYS}
