"""Images are bounded: only workflow texts are inflated, the inflated total per image is
capped while streaming, and overlapping or looping EXIF structures cost nothing extra."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest

from bench import hostile
from watchman.comfy import image_metadata
from watchman.comfy.image_metadata import exif_strings, png_texts, webp_texts
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError, WorkflowError

WORKFLOW = json.dumps(
    {"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["a.safetensors", 1, 1]}]}
)


class CountingZlib:
    """Stands in for the zlib module inside image_metadata and counts inflated bytes."""

    error = zlib.error

    def __init__(self) -> None:
        self.inflated = 0
        self.inflaters = 0

    def decompressobj(self) -> Any:
        self.inflaters += 1
        real = zlib.decompressobj()
        counter = self

        class Inflater:
            @property
            def unconsumed_tail(self) -> bytes:
                return real.unconsumed_tail

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = real.decompress(data, max_length)
                counter.inflated += len(out)
                return out

        return Inflater()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingZlib:
    counter = CountingZlib()
    monkeypatch.setattr(image_metadata, "zlib", counter)
    return counter


def bomb_chunk(keyword: bytes, inflated: int) -> bytes:
    body = keyword + b"\x00\x00" + zlib.compress(b" " * inflated, 9)
    return hostile._png_chunk(b"zTXt", body)


def test_compressed_chunks_of_other_keywords_are_never_inflated(counting: CountingZlib) -> None:
    workflow = hostile._png_chunk(b"tEXt", b"workflow\x00" + WORKFLOW.encode())
    data = hostile._png(*[bomb_chunk(b"Comment", 1 << 20)] * 20, workflow)
    assert parse_workflow_bytes(data, "a.png").model_refs[0].value == "a.safetensors"
    assert counting.inflaters == 0


def test_workflow_bombs_together_inflate_no_more_than_the_cap(
    counting: CountingZlib, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_metadata, "MAX_TEXT_BYTES", 100_000)
    data = hostile._png(*[bomb_chunk(b"workflow", 1 << 20)] * 20)
    assert png_texts(data) == {}
    assert counting.inflated <= 100_001


def test_the_first_readable_text_of_each_keyword_wins_in_any_case() -> None:
    first = hostile._png_chunk(b"tEXt", b"Workflow\x00" + WORKFLOW.encode())
    second = hostile._png_chunk(b"tEXt", b"workflow\x00{}")
    assert png_texts(hostile._png(first, second)) == {"workflow": WORKFLOW}


def test_overlapping_exif_values_are_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[int] = []
    real = image_metadata._copy_text

    def copy_text(raw: bytes, encoding: str, budget: Any) -> str | None:
        copied.append(len(raw))
        return real(raw, encoding, budget)

    monkeypatch.setattr(image_metadata, "_copy_text", copy_text)
    texts = webp_texts(hostile.webp_overlapping_exif(200_000))
    assert set(texts) == {"workflow"}
    assert len(copied) == 1


def test_a_maze_of_ifd_pointers_reads_at_most_the_ifd_cap() -> None:
    data = hostile.webp_ifd_maze(120_100)
    assert webp_texts(data) == {}
    exif = data[data.index(b"EXIF") + 8 :]
    assert exif_strings(exif) == []


def test_an_ifd_chain_longer_than_the_cap_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    # IFD k points to IFD k+1 and holds the string "s<k>".
    count = image_metadata.MAX_IFDS + 5
    size = 2 + 12 * 2 + 4
    tiff = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for index in range(count):
        tiff += struct.pack("<H", 2)
        tiff += struct.pack("<HHII", 0x8769, 4, 1, 8 + (index + 1) * size)
        tiff += struct.pack("<HHI", 0x010F, 2, 3) + f"s{index}".encode().ljust(4, b"\x00")
        tiff += struct.pack("<I", 0)
    assert len(exif_strings(bytes(tiff))) == image_metadata.MAX_IFDS


def test_a_png_whose_workflow_is_past_the_cap_says_it_has_no_readable_workflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(image_metadata, "MAX_TEXT_BYTES", 1_000)
    data = hostile._png(hostile._png_chunk(b"tEXt", b"workflow\x00" + b" " * 2_000))
    with pytest.raises(WorkflowError, match="MAX_TEXT_BYTES") as caught:
        parse_workflow_bytes(data, "big.png")
    assert not isinstance(caught.value, ImageWithoutWorkflowError)
