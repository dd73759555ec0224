"""Workflows embedded in video and audio files (MP4 / MOV, WebM / MKV, FLAC, MP3, Opus /
Ogg), read with struct only and without reading the media itself.

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
the end, is read alone, at most :data:`MAX_MOOV_BYTES`); a Matroska file's first
:data:`MATROSKA_HEAD_BYTES` and last :data:`MATROSKA_TAIL_BYTES` are searched for tags
(where muxers put them); a FLAC file's metadata blocks are walked up to the audio; an
MP3's ID3v2 tag (at its start) is read alone; an Ogg file's pages are read only until its
comment packet is whole. Boxes, blocks, pages, keys and tags walked are capped, every size
is checked against what holds it, and all text taken from one file is capped at
``image_metadata.MAX_TEXT_BYTES``.

The texts found are handed to the workflow reader as a small payload of their own
(:func:`media_payload`), so a 2 GB video costs a few reads and its entry's sha256 is that
of its embedded texts: a file re-encoded with the same workflow is the same workflow.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from watchman.comfy.image_metadata import MAX_TEXT_BYTES, WORKFLOW_KEYS
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
)
"""File names read for a workflow embedded in video or audio metadata."""

MEDIA_KIND_LABELS = {
    "mp4": "MP4 video",
    "webm": "WebM video",
    "flac": "FLAC audio",
    "mp3": "MP3 audio",
    "ogg": "Ogg audio",
    "unknown": "video or audio file of a kind not read",
}
MAX_MOOV_BYTES = 64 * 1024 * 1024
"""A larger ``moov`` box (the index of a very long video) is not read for metadata."""
MAX_BOXES = 4_096
"""Boxes walked per level of an MP4, keys in its ``keys`` box, FLAC metadata blocks."""
MATROSKA_HEAD_BYTES = 4 * 1024 * 1024
MATROSKA_TAIL_BYTES = 1024 * 1024
MAX_TAGS = 10_000
MAX_STRING_LAYERS = 3
COMMENT_KEYS = frozenset({"comment", "description", "desc", "©cmt", "©des"})
"""Keys whose text may be a JSON object holding ``workflow`` / ``prompt`` (Video Helper
Suite writes ``comment``; MOV files keep it as ``©cmt`` or ``©des``)."""

_PAYLOAD_PREFIX = b"\x00comfywatchman-media:"


class _Texts:
    """The ``(key, text)`` pairs found in one file, within one text budget."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []
        self.remaining = MAX_TEXT_BYTES
        self.exceeded = False

    def add(self, key: str, raw: bytes) -> None:
        if len(raw) > self.remaining:
            self.remaining, self.exceeded = 0, True
            return
        self.remaining -= len(raw)
        self.pairs.append(
            (key.strip().lower(), raw.split(b"\x00", 1)[0].decode("utf-8", "replace"))
        )


def media_kind(head: bytes) -> str | None:
    """Return ``"mp4"`` (ISO-BMFF, MOV too), ``"webm"`` (Matroska), ``"flac"``, ``"mp3"``
    (with an ID3v2 tag) or ``"ogg"`` when the first bytes ``head`` (at least 12) start
    such a file, else None."""
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") and head[3:4] in (b"\x02", b"\x03", b"\x04"):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"wide", b"free", b"mdat", b"skip"):
        return "mp4"
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
    texts = _Texts()
    try:
        if kind == "flac":
            _flac_comments(handle, size, texts)
        elif kind == "mp3":
            _id3_frames(handle, head, texts)
        elif kind == "ogg":
            _ogg_comments(handle, size, texts)
        elif kind == "webm":
            _matroska_tags(handle, size, texts)
        else:
            _mp4_metadata(handle, size, texts)
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


# --- FLAC -------------------------------------------------------------------------------


def _flac_comments(handle: BinaryIO, size: int, texts: _Texts) -> None:
    """Read the Vorbis comments of a FLAC file (``handle`` is past its 16 first bytes)."""
    position = 4
    for _ in range(MAX_BOXES):
        if position + 4 > size:
            return
        handle.seek(position)
        header = handle.read(4)
        if len(header) < 4:
            return
        last, block_type = header[0] & 0x80, header[0] & 0x7F
        length = int.from_bytes(header[1:4], "big")
        if block_type == 4 and position + 4 + length <= size:
            _vorbis_comments(handle.read(length), texts)
            return
        if last:
            return
        position += 4 + length


def _vorbis_comments(block: bytes, texts: _Texts) -> None:
    """Read a Vorbis comment structure: vendor string, count, ``KEY=value`` entries."""
    (vendor_length,) = struct.unpack_from("<I", block, 0)
    offset = 4 + vendor_length
    (count,) = struct.unpack_from("<I", block, offset)
    offset += 4
    for _ in range(min(count, len(block) // 4)):
        (length,) = struct.unpack_from("<I", block, offset)
        offset += 4
        comment = block[offset : offset + length]
        offset += length
        key, separator, value = comment.partition(b"=")
        if separator and len(key) <= 64:
            texts.add(key.decode("ascii", "replace"), value)
        if offset >= len(block):
            return


# --- ISO-BMFF (MP4, MOV) ----------------------------------------------------------------


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
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


def _child(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    for box_type, content_start, content_end in _boxes(data, start, end):
        if box_type == wanted:
            return content_start, content_end
    return None


def _mp4_metadata(handle: BinaryIO, size: int, texts: _Texts) -> None:
    """Find the ``moov`` box by walking top-level box headers, then read it alone."""
    position = 0
    reads_left = 4  # a file of many 'moov' boxes is not read box after box
    for _ in range(MAX_BOXES):
        if position + 8 > size or reads_left == 0:
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
        if box_type in (b"moov", b"udta"):
            length = min(box_size, size - position) - header_size
            if length > MAX_MOOV_BYTES:
                return
            reads_left -= 1
            handle.seek(position + header_size)
            content = handle.read(length)
            if box_type == b"udta":
                _user_data(content, 0, len(content), texts)
            else:
                found = _child(content, 0, len(content), b"udta")
                if found is not None:
                    _user_data(content, *found, texts)
            if texts.pairs:
                return
        position += box_size


def _user_data(data: bytes, start: int, end: int, texts: _Texts) -> None:
    """Read a ``udta`` box: its ``meta`` item list and QuickTime ``©xxx`` texts."""
    for box_type, content_start, content_end in _boxes(data, start, end):
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


def _meta(data: bytes, start: int, end: int, texts: _Texts) -> None:
    # ISO 'meta' is a full box (4 bytes of version and flags) and QuickTime's is not: the
    # children start where a box header of the 'hdlr' box is.
    if data[start + 4 : start + 8] != b"hdlr":
        start += 4
    keys: dict[int, str] = {}
    item_list: tuple[int, int] | None = None
    for box_type, content_start, content_end in _boxes(data, start, end):
        if box_type == b"keys":
            keys = _keys(data, content_start, content_end)
        elif box_type == b"ilst":
            item_list = (content_start, content_end)
    if item_list is None:
        return
    for box_type, content_start, content_end in _boxes(data, *item_list):
        # An item is named by its 1-based index into 'keys' (SaveVideo's 'mdta' keys) or
        # by its own type (iTunes items such as '©cmt').
        name = keys.get(int.from_bytes(box_type, "big")) or _box_name(box_type)
        value = _child(data, content_start, content_end, b"data")
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


# --- Matroska (WebM, MKV) ---------------------------------------------------------------

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


def _matroska_tags(handle: BinaryIO, size: int, texts: _Texts) -> None:
    """Search the head and the tail of a Matroska file for ``SimpleTag`` elements."""
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


def _simple_tag(data: bytes, position: int, texts: _Texts) -> int:
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


# --- MP3 (ID3v2) ------------------------------------------------------------------------

_ID3_ENCODINGS = {
    0: ("latin-1", b"\x00"),
    1: ("utf-16", b"\x00\x00"),
    2: ("utf-16-be", b"\x00\x00"),
    3: ("utf-8", b"\x00"),
}


def _syncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def _id3_frames(handle: BinaryIO, head: bytes, texts: _Texts) -> None:
    """Read the ``TXXX`` (user text) and ``COMM`` frames of an ID3v2.3 / 2.4 tag."""
    if len(head) < 10:  # the tag header is cut short: no tag
        return
    version, flags = head[3], head[5]
    if version < 3 or flags & 0x80:  # ID3v2.2 frames and unsynchronised tags: not read
        return
    tag_size = _syncsafe(head[6:10])
    if tag_size > MAX_TEXT_BYTES + 65_536:
        texts.exceeded = True
        return
    handle.seek(10)
    tag = handle.read(tag_size)
    position = 0
    if flags & 0x40 and len(tag) >= 4:  # an extended header comes first
        extended = _syncsafe(tag[:4]) if version == 4 else 4 + int.from_bytes(tag[:4], "big")
        position = extended
    for _ in range(MAX_BOXES):
        if position + 10 > len(tag) or tag[position] == 0:
            return
        frame_id = tag[position : position + 4]
        raw_size = tag[position + 4 : position + 8]
        frame_size = _syncsafe(raw_size) if version == 4 else int.from_bytes(raw_size, "big")
        body = tag[position + 10 : position + 10 + frame_size]
        position += 10 + frame_size
        if frame_id in (b"TXXX", b"COMM") and body:
            _id3_text_frame(frame_id, body, texts)


def _id3_text_frame(frame_id: bytes, body: bytes, texts: _Texts) -> None:
    encoding, terminator = _ID3_ENCODINGS.get(body[0], ("latin-1", b"\x00"))
    rest = body[4:] if frame_id == b"COMM" else body[1:]  # COMM has a 3-byte language
    cut = -1
    for start in range(0, len(rest), len(terminator)):
        if rest[start : start + len(terminator)] == terminator:
            cut = start
            break
    if cut < 0:
        return
    description = rest[:cut].decode(encoding, "replace")
    value = rest[cut + len(terminator) :].decode(encoding, "replace")
    key = "comment" if frame_id == b"COMM" else description
    texts.add(key, value.encode("utf-8"))


# --- Ogg (Opus, Vorbis) -----------------------------------------------------------------


def _ogg_comments(handle: BinaryIO, size: int, texts: _Texts) -> None:
    """Reassemble the first stream's second packet (its comments) from the Ogg pages."""
    handle.seek(0)
    packets: list[bytes] = []
    current = b""
    serial: bytes | None = None
    limit = min(size, MAX_TEXT_BYTES + 1_048_576)
    read = 0
    for _ in range(MAX_BOXES * 4):
        header = handle.read(27)
        if len(header) < 27 or not header.startswith(b"OggS"):
            return
        segment_count = header[26]
        lacing = handle.read(segment_count)
        body = handle.read(sum(lacing))
        read += 27 + segment_count + len(body)
        if read > limit:
            texts.exceeded = True
            return
        if serial is None:
            serial = header[14:18]
        if header[14:18] != serial:
            continue  # a page of another stream (a video's, a second track's)
        offset = 0
        for length in lacing:
            current += body[offset : offset + length]
            offset += length
            if length < 255:  # a lacing value under 255 ends a packet
                packets.append(current)
                current = b""
                if len(packets) == 2:
                    _comment_packet(packets[1], texts)
                    return


def _comment_packet(packet: bytes, texts: _Texts) -> None:
    for magic in (b"OpusTags", b"\x03vorbis"):
        if packet.startswith(magic):
            _vorbis_comments(packet[len(magic) :], texts)
            return
