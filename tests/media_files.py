"""Small writers of the containers ComfyUI's video, audio, 3D and image savers produce, for
tests.

They write the structures the readers look at (box headers, EBML elements, FLAC blocks)
and filler where the media would be; the real files PyAV writes are in
``tests/fixtures/media`` (made by ``tools/make_media_fixtures.py``).
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def workflow_read_from(data: bytes, name: str) -> tuple[Any, int]:
    """The workflow the media reader finds in ``data`` (decoded JSON, None when absent)
    and how many bytes it read to find it."""
    from watchman.comfy.media_metadata import read_media_texts

    handle = CountingFile(data)
    _, texts = read_media_texts(handle, len(data), name)
    workflow = json.loads(texts["workflow"]) if "workflow" in texts else None
    return workflow, handle.bytes_read


def box(kind: bytes, content: bytes) -> bytes:
    """An ISO-BMFF box: 32-bit size, 4-byte type, content."""
    return struct.pack(">I", 8 + len(content)) + kind + content


def mp4_with_keys(items: dict[str, bytes], *, mdat: bytes = b"\0" * 64) -> bytes:
    """An MP4 as SaveVideo writes it: ftyp, mdat, then moov/udta/meta with 'mdta' keys."""
    keys = struct.pack(">II", 0, len(items)) + b"".join(
        box(b"mdta", name.encode()) for name in items
    )
    item_list = b"".join(
        box(struct.pack(">I", index), box(b"data", struct.pack(">II", 1, 0) + value))
        for index, value in enumerate(items.values(), start=1)
    )
    handler = box(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 13)
    meta = box(b"meta", b"\0\0\0\0" + handler + box(b"keys", keys) + box(b"ilst", item_list))
    moov = box(b"moov", box(b"mvhd", b"\0" * 100) + box(b"udta", meta))
    return box(b"ftyp", b"isom\0\0\2\0isomiso2") + box(b"mdat", mdat) + moov


def mp4_with_comment(comment: bytes) -> bytes:
    """An MP4 as Video Helper Suite's ffmpeg writes it: an iTunes '©cmt' item."""
    item = box(b"\xa9cmt", box(b"data", struct.pack(">II", 1, 0) + comment))
    handler = box(b"hdlr", b"\0" * 8 + b"mdirappl" + b"\0" * 9)
    meta = box(b"meta", b"\0\0\0\0" + handler + box(b"ilst", item))
    return box(b"ftyp", b"isom\0\0\2\0") + box(b"moov", box(b"udta", meta)) + box(b"mdat", b"")


def mov_with_text(kind: bytes, text: bytes) -> bytes:
    """A MOV with a QuickTime text in 'udta' (2-byte length, 2-byte language, text)."""
    atom = box(kind, struct.pack(">HH", len(text), 0x55C4) + text)
    return box(b"ftyp", b"qt  \0\0\2\0qt  ") + box(b"moov", box(b"udta", atom))


def _ebml_size(length: int) -> bytes:
    return (length | (1 << 56)).to_bytes(8, "big")  # an 8-byte size: any length fits


def element(element_id: bytes, content: bytes) -> bytes:
    """A Matroska element: its id bytes (marker kept), an 8-byte size, the content."""
    return element_id + _ebml_size(len(content)) + content


def simple_tag(name: bytes, value: bytes) -> bytes:
    """A Matroska ``SimpleTag`` with ``TagName`` and ``TagString``."""
    return element(b"\x67\xc8", element(b"\x45\xa3", name) + element(b"\x44\x87", value))


def webm_with_tags(tags: dict[bytes, bytes], *, clusters: bytes = b"") -> bytes:
    """A WebM: EBML header, a Segment holding Tags (then ``clusters`` as filler)."""
    header = element(b"\x1a\x45\xdf\xa3", element(b"\x42\x82", b"webm"))
    tag = element(b"\x73\x73", b"".join(simple_tag(n, v) for n, v in tags.items()))
    segment = element(b"\x18\x53\x80\x67", element(b"\x12\x54\xc3\x67", tag) + clusters)
    return header + segment


def flac_with_comments(comments: dict[bytes, bytes], *, vendor: bytes = b"test") -> bytes:
    """A FLAC: signature, a STREAMINFO block, a last VORBIS_COMMENT block, audio filler."""
    entries = [key + b"=" + value for key, value in comments.items()]
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    body += b"".join(struct.pack("<I", len(entry)) + entry for entry in entries)
    stream_info = bytes([0]) + (34).to_bytes(3, "big") + b"\0" * 34
    comment_block = bytes([0x80 | 4]) + len(body).to_bytes(3, "big") + body
    return b"fLaC" + stream_info + comment_block + b"\xff\xf8" + b"\0" * 32


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def id3_frame(frame_id: bytes, body: bytes) -> bytes:
    """An ID3v2.4 frame: id, syncsafe size, two flag bytes, body."""
    return frame_id + _syncsafe(len(body)) + b"\0\0" + body


def mp3_with_texts(texts: dict[bytes, bytes], *, encoding: int = 3) -> bytes:
    """An MP3 as SaveAudioMP3 writes it: an ID3v2.4 tag of TXXX frames, then audio."""
    terminator = b"\0\0" if encoding in (1, 2) else b"\0"
    frames = b"".join(
        id3_frame(b"TXXX", bytes([encoding]) + key + terminator + value)
        for key, value in texts.items()
    )
    return b"ID3\x04\0\0" + _syncsafe(len(frames)) + frames + b"\xff\xfb" + b"\0" * 64


def ogg_pages(packet: bytes, *, serial: int = 1, sequence: int = 0) -> bytes:
    """The Ogg pages carrying one ``packet``: 255-byte segments, at most 255 per page, a
    last segment under 255 bytes ending the packet; later pages are marked continued."""
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    pages, offset = [], 0
    for first in range(0, len(lacing), 255):
        values = lacing[first : first + 255]
        header = b"OggS\0" + bytes([1 if first else 0]) + b"\0" * 8
        header += struct.pack("<III", serial, sequence, 0) + bytes([len(values)])
        pages.append(header + bytes(values) + packet[offset : offset + sum(values)])
        offset += sum(values)
        sequence += 1
    return b"".join(pages)


def opus_with_comments(comments: dict[bytes, bytes]) -> bytes:
    """An Opus file as SaveAudioOpus writes it: OpusHead, then an OpusTags packet."""
    entries = [key + b"=" + value for key, value in comments.items()]
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", len(entries))
    tags += b"".join(struct.pack("<I", len(entry)) + entry for entry in entries)
    head = b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0"
    return ogg_pages(head) + ogg_pages(tags, sequence=1) + ogg_pages(b"\0" * 10, sequence=9)


def exif_block(strings: list[bytes], byte_order: str = "<") -> bytes:
    """A TIFF block whose IFD0 holds ``strings`` as ASCII tags 0x010F, 0x0110, ... (the
    way ComfyUI's savers write ``workflow:{…}`` / ``prompt:{…}``)."""
    magic = b"II*\x00" if byte_order == "<" else b"MM\x00*"
    entries, data_area = b"", b""
    data_start = 8 + 2 + 12 * len(strings) + 4
    for index, text in enumerate(strings):
        raw = text + b"\x00"
        entries += struct.pack(
            byte_order + "HHII", 0x010F + index, 2, len(raw), data_start + len(data_area)
        )
        data_area += raw
    header = magic + struct.pack(byte_order + "I", 8) + struct.pack(byte_order + "H", len(strings))
    return header + entries + struct.pack(byte_order + "I", 0) + data_area


def glb_with_extras(extras: object, *, binary: bytes = b"\0" * 64) -> bytes:
    """A GLB as ComfyUI's SaveGLB writes it: header, JSON chunk with ``asset.extras``,
    then the binary chunk."""
    document = {"asset": {"version": "2.0", "generator": "ComfyUI", "extras": extras}}
    return glb_with_json(json.dumps(document).encode(), binary=binary)


def glb_with_json(document: bytes, *, binary: bytes = b"\0" * 64) -> bytes:
    """A GLB whose JSON chunk is ``document`` (padded with spaces), then a binary chunk."""
    text = document + b" " * (-len(document) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (
        struct.pack("<4sII", b"glTF", 2, total)
        + struct.pack("<II", len(text), 0x4E4F534A)
        + text
        + struct.pack("<II", len(binary), 0x004E4942)
        + binary
    )


def svg_with_metadata(
    metadata: bytes, *, drawing: bytes = b'<rect width="8" height="8"/>'
) -> bytes:
    """An SVG as ComfyUI's SaveSVGNode writes it: the ``<metadata>`` CDATA right after the
    opening ``<svg>`` tag."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">\n'
        b"  <metadata>\n    <![CDATA[\n"
        + metadata
        + b"\n    ]]>\n  </metadata>\n"
        + drawing
        + b"\n</svg>\n"
    )


def avif_with_exif(tiff: bytes, *, inline: bool = False, iloc_version: int = 0) -> bytes:
    """An AVIF whose ``meta`` box lists an ``av01`` picture and an ``Exif`` item (its
    4-byte TIFF header offset, then ``tiff``), stored in ``mdat`` or, with ``inline``, in
    the ``meta`` box's ``idat`` (construction method 1, iloc version 1)."""
    exif = struct.pack(">I", 0) + tiff
    picture = b"\x12\x00\x0a" + b"\0" * 29
    infe_picture = box(b"infe", struct.pack(">BxxxHH4s", 2, 1, 0, b"av01") + b"\0")
    infe_exif = box(b"infe", struct.pack(">BxxxHH4s", 2, 2, 0, b"Exif") + b"\0")
    iinf = box(b"iinf", struct.pack(">BxxxH", 0, 2) + infe_picture + infe_exif)
    version = 1 if inline else iloc_version

    def iloc(offsets: tuple[int, int]) -> bytes:
        body = struct.pack(">Bxxx", version) + bytes([0x44, 0x00])
        body += struct.pack(">I" if version == 2 else ">H", 2)
        for item_id, offset, length, method in (
            (1, offsets[0], len(picture), 0),
            (2, offsets[1], len(exif), 1 if inline else 0),
        ):
            body += struct.pack(">I" if version == 2 else ">H", item_id)
            if version in (1, 2):
                body += struct.pack(">H", method)
            body += struct.pack(">HHII", 0, 1, offset, length)
        return box(b"iloc", body)

    ftyp = box(b"ftyp", b"avif\0\0\0\0mif1miafavif")
    handler = box(b"hdlr", b"\0" * 8 + b"pict" + b"\0" * 13)

    def meta(offsets: tuple[int, int]) -> bytes:
        idat = box(b"idat", exif) if inline else b""
        return box(b"meta", b"\0\0\0\0" + handler + iinf + iloc(offsets) + idat)

    # Sizes do not depend on the offsets' values, so one draft gives the layout.
    draft = meta((0, 0))
    mdat_start = len(ftyp) + len(draft) + 8
    if inline:
        offsets = (mdat_start, 0)
        mdat = box(b"mdat", picture)
    else:
        offsets = (mdat_start, mdat_start + len(picture))
        mdat = box(b"mdat", picture + exif)
    return ftyp + meta(offsets) + mdat
