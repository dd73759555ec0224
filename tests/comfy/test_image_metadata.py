"""Workflows embedded in PNG and WebP files, generated here with struct and zlib."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest

from watchman.comfy import image_metadata
from watchman.comfy.image_metadata import exif_strings, png_texts, webp_texts
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError, WorkflowError

UI_WORKFLOW: dict[str, Any] = {
    "nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["ui.safetensors"]}]
}
API_PROMPT: dict[str, Any] = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "api.safetensors"}}
}


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(*chunks: bytes) -> bytes:
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return (
        image_metadata.PNG_SIGNATURE + header + b"".join(chunks) + pixels + png_chunk(b"IEND", b"")
    )


def text_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def ztxt_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"zTXt", key.encode() + b"\x00\x00" + zlib.compress(text.encode()))


def itxt_chunk(key: str, text: str, compressed: bool) -> bytes:
    payload = zlib.compress(text.encode()) if compressed else text.encode()
    flag = b"\x01\x00" if compressed else b"\x00\x00"
    return png_chunk(b"iTXt", key.encode() + b"\x00" + flag + b"en\x00\x00" + payload)


def make_webp(strings: list[str], byte_order: str = "<", prefix: bool = False) -> bytes:
    """A WebP RIFF with an EXIF chunk holding ASCII tags 0x010F, 0x0110, ... as ComfyUI's
    SaveAnimatedWEBP writes them (via PIL's getexif)."""
    magic = b"II*\x00" if byte_order == "<" else b"MM\x00*"
    entries = b""
    data_area = b""
    data_start = 8 + 2 + 12 * len(strings) + 4
    for index, text in enumerate(strings):
        raw = text.encode() + b"\x00"
        offset = data_start + len(data_area)
        entries += struct.pack(byte_order + "HHII", 0x010F + index, 2, len(raw), offset)
        data_area += raw
    tiff = magic + struct.pack(byte_order + "I", 8) + struct.pack(byte_order + "H", len(strings))
    tiff += entries + struct.pack(byte_order + "I", 0) + data_area
    exif = (b"Exif\x00\x00" if prefix else b"") + tiff
    vp8 = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    body = (
        b"WEBP" + vp8 + b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\x00" * (len(exif) & 1))
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_a_png_with_workflow_and_prompt_text_prefers_the_ui_workflow() -> None:
    data = make_png(
        text_chunk("prompt", json.dumps(API_PROMPT)),
        text_chunk("workflow", json.dumps(UI_WORKFLOW)),
    )
    parsed = parse_workflow_bytes(data, "image.png")
    assert parsed.format == "png"
    assert [ref.value for ref in parsed.model_refs] == ["ui.safetensors"]


def test_a_png_with_only_a_prompt_is_read_as_the_api_format() -> None:
    parsed = parse_workflow_bytes(make_png(text_chunk("prompt", json.dumps(API_PROMPT))), "a.png")
    assert parsed.format == "png" and parsed.model_refs[0].value == "api.safetensors"


@pytest.mark.parametrize(
    "chunk",
    [
        ztxt_chunk("workflow", json.dumps(UI_WORKFLOW)),
        itxt_chunk("workflow", json.dumps(UI_WORKFLOW), compressed=False),
        itxt_chunk("workflow", json.dumps(UI_WORKFLOW), compressed=True),
    ],
    ids=["zTXt", "iTXt", "iTXt-compressed"],
)
def test_compressed_and_international_text_chunks_are_read(chunk: bytes) -> None:
    parsed = parse_workflow_bytes(make_png(chunk), "a.png")
    assert parsed.model_refs[0].value == "ui.safetensors"


def test_a_broken_workflow_text_falls_back_to_the_prompt() -> None:
    data = make_png(text_chunk("workflow", "{broken"), text_chunk("prompt", json.dumps(API_PROMPT)))
    assert parse_workflow_bytes(data, "a.png").model_refs[0].value == "api.safetensors"


def test_a_png_without_a_workflow_is_an_ordinary_picture_named_in_the_error() -> None:
    with pytest.raises(
        ImageWithoutWorkflowError, match=r"plain\.png is a PNG image with no 'workflow'"
    ):
        parse_workflow_bytes(make_png(text_chunk("Software", "x")), "plain.png")


def test_a_png_whose_workflow_text_is_broken_is_a_workflow_error_not_a_picture() -> None:
    with pytest.raises(WorkflowError, match="without a readable workflow") as caught:
        parse_workflow_bytes(make_png(text_chunk("workflow", "{broken")), "bad.png")
    assert not isinstance(caught.value, ImageWithoutWorkflowError)


def test_a_truncated_png_gives_what_was_read_before_the_cut() -> None:
    data = make_png(
        text_chunk("workflow", json.dumps(UI_WORKFLOW)), text_chunk("prompt", "x" * 100)
    )
    cut = data[: data.index(b"prompt") + 10]
    assert set(png_texts(cut)) == {"workflow"}


def test_a_compressed_chunk_is_never_inflated_beyond_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(image_metadata, "MAX_TEXT_BYTES", 1000)
    bomb = png_chunk(b"zTXt", b"workflow\x00\x00" + zlib.compress(b"{" + b" " * 100_000 + b"}"))
    assert png_texts(make_png(bomb)) == {}


@pytest.mark.parametrize("byte_order", ["<", ">"])
@pytest.mark.parametrize("prefix", [False, True])
def test_a_webp_exif_with_workflow_and_prompt_tags_is_read(byte_order: str, prefix: bool) -> None:
    strings = ["workflow:" + json.dumps(UI_WORKFLOW), "prompt:" + json.dumps(API_PROMPT)]
    data = make_webp(strings, byte_order, prefix)
    assert set(webp_texts(data)) == {"workflow", "prompt"}
    parsed = parse_workflow_bytes(data, "anim.webp")
    assert parsed.format == "webp" and parsed.model_refs[0].value == "ui.safetensors"


def test_webp_keys_are_case_insensitive() -> None:
    data = make_webp(["Workflow:" + json.dumps(UI_WORKFLOW)])
    assert parse_workflow_bytes(data, "a.webp").model_refs[0].value == "ui.safetensors"


def test_a_webp_without_exif_raises_a_workflow_error() -> None:
    with pytest.raises(ImageWithoutWorkflowError, match="WEBP image with no 'workflow'"):
        parse_workflow_bytes(make_webp([]), "still.webp")


def test_exif_offsets_outside_the_data_are_skipped() -> None:
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHII", 0x010F, 2, 500, 10_000) + struct.pack("<I", 0)
    assert exif_strings(tiff) == []
