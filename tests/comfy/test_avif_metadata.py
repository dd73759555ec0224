"""An AVIF image gives the ``workflow:`` / ``prompt:`` strings of its ``Exif`` item, found
through the item tables of its ``meta`` box; the picture is never read, and tables that
lie cost that file at most."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest

from tests.media_files import avif_with_exif, exif_block, workflow_read_from
from watchman.comfy import avif_metadata
from watchman.comfy.media_metadata import media_payload, read_media_texts
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError, WorkflowError
from watchman.stages.watched_folders import read_workflow_bytes

WORKFLOW = {"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["av.safetensors", 1, 1]}]}
PROMPT = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "av_vae.safetensors"}}}
STRINGS = [b"workflow:" + json.dumps(WORKFLOW).encode(), b"prompt:" + json.dumps(PROMPT).encode()]


def texts_of(data: bytes) -> tuple[str, dict[str, str]]:
    return read_media_texts(io.BytesIO(data), len(data), "image.avif")


def test_an_avif_with_workflow_exif_gives_its_ui_workflow(tmp_path: Path) -> None:
    path = tmp_path / "ComfyUI_00001_.avif"
    path.write_bytes(avif_with_exif(exif_block(STRINGS)))
    parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), path.name)
    assert parsed.format == "avif"
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [("av.safetensors", "loras")]


@pytest.mark.parametrize(
    "data",
    [
        avif_with_exif(exif_block(STRINGS, ">")),  # big-endian TIFF
        avif_with_exif(exif_block(STRINGS), inline=True),  # in the meta box's idat
        avif_with_exif(exif_block(STRINGS), iloc_version=1),
        avif_with_exif(exif_block(STRINGS), iloc_version=2),  # 32-bit item ids and counts
    ],
)
def test_every_way_an_exif_item_is_stored_is_read(data: bytes) -> None:
    kind, texts = texts_of(data)
    assert kind == "avif"
    assert json.loads(texts["workflow"]) == WORKFLOW
    assert json.loads(texts["prompt"]) == PROMPT


def test_only_the_meta_box_and_the_exif_item_are_read() -> None:
    data = avif_with_exif(exif_block(STRINGS)) + struct.pack(">I4s", 8 + 5_000_000, b"free")
    data += b"\0" * 5_000_000
    workflow, bytes_read = workflow_read_from(data, "big.avif")
    assert workflow == WORKFLOW
    assert bytes_read < 2_000


@pytest.mark.parametrize(
    "data",
    [
        avif_with_exif(exif_block([b"Make:camera"])),  # EXIF without workflow strings
        avif_with_exif(b"no tiff here at all"),
        avif_with_exif(exif_block(STRINGS)).replace(b"Exif", b"mime"),  # no Exif item
    ],
)
def test_an_ordinary_avif_is_no_workflow_and_no_error(data: bytes) -> None:
    with pytest.raises(ImageWithoutWorkflowError):
        parse_workflow_bytes(media_payload(*texts_of(data)), "photo.avif")


def test_an_exif_item_in_too_many_pieces_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(avif_metadata, "MAX_EXTENTS", 0)
    assert texts_of(avif_with_exif(exif_block(STRINGS)))[1] == {}


def test_an_exif_item_past_the_text_budget_is_an_over_limit_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(avif_metadata, "MAX_TEXT_BYTES", 20)
    with pytest.raises(WorkflowError, match="MAX_TEXT_BYTES"):
        texts_of(avif_with_exif(exif_block(STRINGS)))


def test_an_exif_item_placed_past_the_end_is_a_damaged_avif() -> None:
    data = avif_with_exif(exif_block(STRINGS))
    cut = data[: data.rindex(b"workflow:")]
    with pytest.raises(WorkflowError, match="damaged AVIF"):
        texts_of(cut)


def test_extent_counts_that_lie_are_skipped_by_arithmetic_not_walked() -> None:
    data = bytearray(avif_with_exif(exif_block(STRINGS)))
    iloc = data.index(b"iloc") + 4
    # The first item's extent count (after version/flags, sizes, item count, id, index,
    # base offset) claims 65,535 extents: the box is cut short, and nothing is walked.
    struct.pack_into(">H", data, iloc + 4 + 2 + 2 + 2 + 2, 0xFFFF)
    with pytest.raises(WorkflowError, match="damaged AVIF"):
        texts_of(bytes(data))


@pytest.mark.parametrize(
    "tail",
    [
        b"",
        b"\0\0\0\x0cmeta\0\0\0\0",  # an empty meta box
        b"\0\0\0\x10meta\0\0\0\0\0\0\0\x08iinf",  # an iinf without entries, no iloc
        b"\0\0\0\x18meta\0\0\0\0\0\0\0\x08iinf\0\0\0\x08iloc",  # tables without content
        b"\0\0\0\x01meta" + b"\xff" * 8,  # a 64-bit size past the end
    ],
)
def test_meta_boxes_that_lie_cost_nothing_but_that_file(tail: bytes) -> None:
    data = struct.pack(">I4s4s4s", 16, b"ftyp", b"avif", b"\0\0\0\0") + tail
    try:
        kind, texts = texts_of(data)
    except WorkflowError as error:
        assert "image.avif" in str(error)
    else:
        assert (kind, texts) == ("avif", {})
