"""The comments of audio files: a FLAC file's Vorbis comment block (its metadata blocks
walked up to the audio), an MP3's ID3v2.3 / 2.4 ``TXXX`` and ``COMM`` frames (the tag
at its start read alone), and an Ogg file's comment packet (``OpusTags`` or Vorbis),
its pages read only until that packet is whole."""

from __future__ import annotations

import struct
from typing import BinaryIO

from watchman.comfy.image_metadata import MAX_TEXT_BYTES
from watchman.comfy.media_texts import MAX_BOXES, MediaTexts


def flac_comments(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the Vorbis comments of the FLAC file ``handle`` of ``size`` bytes
    (``handle`` is past its 16 first bytes).

    Raises:
        struct.error: the metadata is cut short where its sizes point (the caller makes it
            the file's error). OSError: the file cannot be read.
    """
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


def _vorbis_comments(block: bytes, texts: MediaTexts) -> None:
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


_ID3_ENCODINGS = {
    0: ("latin-1", b"\x00"),
    1: ("utf-16", b"\x00\x00"),
    2: ("utf-16-be", b"\x00\x00"),
    3: ("utf-8", b"\x00"),
}


def _syncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def id3_frames(handle: BinaryIO, head: bytes, texts: MediaTexts) -> None:
    """Add to ``texts`` the ``TXXX`` (user text) and ``COMM`` frames of the ID3v2.3 / 2.4
    tag of the MP3 file ``handle`` whose first bytes are ``head``.

    Raises:
        struct.error: the metadata is cut short where its sizes point (the caller makes it
            the file's error). OSError: the file cannot be read.
    """
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


def _id3_text_frame(frame_id: bytes, body: bytes, texts: MediaTexts) -> None:
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


def ogg_comments(handle: BinaryIO, size: int, texts: MediaTexts) -> None:
    """Add to ``texts`` the comments of the Ogg file ``handle`` of ``size`` bytes: the
    first stream's second packet, reassembled from its pages.

    Raises:
        struct.error: the metadata is cut short where its sizes point (the caller makes it
            the file's error). OSError: the file cannot be read.
    """
    handle.seek(0)
    packets: list[bytes] = []
    # A bytearray: a packet over thousands of 255-byte segments, joined with bytes' +=,
    # was copied whole at each one (a 5.7 MB comment packet took 13 s).
    current = bytearray()
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
                packets.append(bytes(current))
                current = bytearray()
                if len(packets) == 2:
                    _comment_packet(packets[1], texts)
                    return


def _comment_packet(packet: bytes, texts: MediaTexts) -> None:
    for magic in (b"OpusTags", b"\x03vorbis"):
        if packet.startswith(magic):
            _vorbis_comments(packet[len(magic) :], texts)
            return
