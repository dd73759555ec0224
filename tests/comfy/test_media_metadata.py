"""Workflows embedded in video and audio files are read from their metadata alone, the
way ComfyUI's savers and Video Helper Suite write them, and a stranger's file costs a
bounded number of reads whatever it claims."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.media_files import (
    CountingFile,
    box,
    flac_with_comments,
    mov_with_text,
    mp3_with_texts,
    mp4_with_comment,
    mp4_with_keys,
    ogg_pages,
    opus_with_comments,
    webm_with_tags,
    workflow_read_from,
)
from watchman.comfy import matroska_metadata, media_metadata, mp4_metadata
from watchman.comfy.media_metadata import (
    media_payload,
    payload_texts,
    read_media_texts,
    workflow_texts_of,
)
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError, WorkflowError
from watchman.stages.watched_folders import discover_workflow_files, read_workflow_bytes

MEDIA = Path(__file__).parent / "media"
WORKFLOW = {
    "nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["clip_lora.safetensors", 1, 1]}]
}
PROMPT = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "clip_vae.safetensors"}}}


def texts_of(data: bytes) -> tuple[str, dict[str, str]]:
    return read_media_texts(io.BytesIO(data), len(data), "clip")


def values_in(path: Path) -> list[str]:
    parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), path.name)
    return [reference.value for reference in parsed.model_refs]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("savevideo.mp4", "mp4"),
        ("savewebm.webm", "webm"),
        ("saveaudio.flac", "flac"),
        ("saveaudio.mp3", "mp3"),
        ("saveaudio.opus", "ogg"),
        ("vhs_comment.mp4", "mp4"),
        ("vhs_comment.mov", "mp4"),
        ("vhs_comment.webm", "webm"),
    ],
)
def test_files_written_by_comfyui_and_video_helper_suite_give_their_workflow(
    name: str, kind: str
) -> None:
    path = MEDIA / name
    parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), name)
    assert parsed.format == kind
    # The UI workflow wins over the API prompt: both loaders of the graph are read.
    assert [ref.value for ref in parsed.model_refs] == [
        "media_ckpt.safetensors",
        "media_lora.safetensors",
    ]


def test_a_video_without_metadata_is_no_workflow_and_no_error() -> None:
    with pytest.raises(ImageWithoutWorkflowError, match="MP4 video with no 'workflow'"):
        values_in(MEDIA / "plain.mp4")


def test_a_file_of_another_kind_under_a_video_name_is_no_workflow_and_no_error(
    tmp_path: Path,
) -> None:
    clip = tmp_path / "old.mp4"
    clip.write_bytes(b"RIFF\x10\0\0\0AVI LIST" + b"\0" * 64)
    with pytest.raises(
        ImageWithoutWorkflowError, match="not an MP4, MOV, WebM, MKV, FLAC, MP3, Ogg, GLB"
    ):
        values_in(clip)


def test_mdta_keys_name_the_items_of_an_mp4() -> None:
    data = mp4_with_keys(
        {"encoder": b"Lavf", "prompt": json.dumps(PROMPT).encode(), "workflow": b"{}"}
    )
    kind, texts = texts_of(data)
    assert kind == "mp4"
    assert json.loads(texts["prompt"]) == PROMPT
    assert texts["workflow"] == "{}"


def test_a_comment_holding_prompt_and_workflow_gives_both() -> None:
    comment = json.dumps({"prompt": json.dumps(PROMPT), "workflow": WORKFLOW}).encode()
    for data in (mp4_with_comment(comment), webm_with_tags({b"COMMENT": comment})):
        _, texts = texts_of(data)
        assert json.loads(texts["workflow"]) == WORKFLOW
        assert json.loads(texts["prompt"]) == PROMPT


def test_a_quicktime_description_text_is_read_like_a_comment() -> None:
    comment = json.dumps({"workflow": WORKFLOW}).encode()
    _, texts = texts_of(mov_with_text(b"\xa9des", comment))
    assert json.loads(texts["workflow"]) == WORKFLOW


def test_a_comment_that_is_not_a_json_object_gives_nothing() -> None:
    for comment in (b"made with love", b'["workflow"]', b"{not json"):
        assert texts_of(mp4_with_comment(comment))[1] == {}


def test_matroska_tag_names_are_compared_in_any_case() -> None:
    data = webm_with_tags({b"Workflow": json.dumps(WORKFLOW).encode(), b"ENCODER": b"x"})
    assert json.loads(texts_of(data)[1]["workflow"]) == WORKFLOW


def test_flac_vorbis_comments_are_read() -> None:
    data = flac_with_comments({b"PROMPT": json.dumps(PROMPT).encode(), b"title": b"song"})
    kind, texts = texts_of(data)
    assert kind == "flac"
    assert json.loads(texts["prompt"]) == PROMPT


def test_mp3_user_text_frames_are_read_in_each_encoding() -> None:
    workflow = json.dumps(WORKFLOW)
    for encoding, codec in ((0, "latin-1"), (1, "utf-16"), (2, "utf-16-be"), (3, "utf-8")):
        data = mp3_with_texts({"workflow".encode(codec): workflow.encode(codec)}, encoding=encoding)
        kind, texts = texts_of(data)
        assert kind == "mp3"
        assert json.loads(texts["workflow"]) == WORKFLOW, codec


def test_opus_comments_spanning_ogg_pages_are_reassembled() -> None:
    workflow = json.dumps({**WORKFLOW, "padding": "x" * 150_000}).encode()
    data = opus_with_comments({b"workflow": workflow})
    assert data.count(b"OggS") > 4  # the comment packet spans three pages
    # A page of another stream between them (a second track) is passed over.
    second = data.index(b"OggS", data.index(b"OpusTags") + 100)
    data = data[:second] + ogg_pages(b"\0" * 300, serial=7) + data[second:]
    kind, texts = texts_of(data)
    assert kind == "ogg"
    assert json.loads(texts["workflow"])["padding"] == "x" * 150_000


def test_opus_tags_are_read_like_vorbis_comments() -> None:
    data = opus_with_comments({b"prompt": json.dumps(PROMPT).encode()})
    assert json.loads(texts_of(data)[1]["prompt"]) == PROMPT


def test_a_value_encoded_as_a_json_string_is_peeled_up_to_three_layers() -> None:
    once = json.dumps(WORKFLOW)
    thrice = json.dumps(json.dumps(json.dumps(once)))
    assert workflow_texts_of([("workflow", thrice)])["workflow"] == once
    four_times = json.dumps(thrice)
    assert workflow_texts_of([("workflow", four_times)])["workflow"] != once


def test_the_first_text_of_a_key_wins_and_a_direct_key_beats_a_comment() -> None:
    comment = json.dumps({"workflow": {"nodes": []}})
    found = workflow_texts_of([("comment", comment), ("workflow", "first"), ("workflow", "second")])
    assert found == {"workflow": "first"}


def test_only_the_metadata_of_a_large_mp4_is_read() -> None:
    data = mp4_with_keys({"workflow": json.dumps(WORKFLOW).encode()}, mdat=b"\0" * 20_000_000)
    workflow, bytes_read = workflow_read_from(data, "big.mp4")
    assert workflow == WORKFLOW
    assert bytes_read < 2_000


def test_an_mp4_whose_moov_passes_the_limit_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mp4_metadata, "MAX_MOOV_BYTES", 100)
    data = mp4_with_keys({"workflow": json.dumps(WORKFLOW).encode()})
    handle = CountingFile(data)
    assert read_media_texts(handle, len(data), "clip")[1] == {}
    assert handle.bytes_read < 200


def test_a_matroska_tag_after_the_head_is_found_in_the_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matroska_metadata, "MATROSKA_HEAD_BYTES", 1_000)
    monkeypatch.setattr(matroska_metadata, "MATROSKA_TAIL_BYTES", 1_000)
    tags = webm_with_tags({b"WORKFLOW": json.dumps(WORKFLOW).encode()})
    data = tags[:40] + b"\0" * 50_000 + tags[40:]  # the tags end up in the last bytes
    handle = CountingFile(data)
    _, texts = read_media_texts(handle, len(data), "long.webm")
    assert json.loads(texts["workflow"]) == WORKFLOW
    assert handle.bytes_read <= 2_016


def test_texts_past_the_budget_are_an_over_limit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_metadata, "MAX_TEXT_BYTES", 50)
    data = flac_with_comments({b"workflow": json.dumps(WORKFLOW).encode() * 3})
    with pytest.raises(WorkflowError, match="MAX_TEXT_BYTES"):
        texts_of(data)


@pytest.mark.parametrize(
    "data",
    [
        box(b"ftyp", b"isom") + b"\0\0\0\x01moov" + b"\xff" * 8,  # a 64-bit size past the end
        box(b"ftyp", b"isom") + b"\0\0\0\x04moov",  # a size smaller than the header
        box(b"ftyp", b"isom") + b"\0\0\0\0moov" + box(b"udta", box(b"meta", b"\0" * 3)),
        box(b"ftyp", b"isom") * 5_000,  # more top-level boxes than are walked
        b"fLaC" + bytes([4]) + b"\xff\xff\xff" + b"\0" * 10,  # a block past the end
        b"fLaC" + bytes([0x84, 0, 0, 8]) + b"\xff\xff\xff\x7f" + b"\0" * 4,  # vendor overrun
        b"\x1a\x45\xdf\xa3" + b"\x67\xc8\x01\xff\xff\xff\xff\xff\xff\xff" * 100,
        b"ID3\x04\0",  # an ID3 header cut short
        b"ID3\x03\0\x40\0\0\0\x20" + b"\xff" * 40,  # an extended header that lies
        b"OggS" + b"\0" * 22 + b"\xff" + b"\xff" * 10,  # a page whose segments are missing
    ],
)
def test_lying_sizes_cost_nothing_but_that_file(data: bytes) -> None:
    with contextlib.suppress(WorkflowError):
        texts_of(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(sorted(MEDIA.glob("*.*"))),
    cut=st.integers(min_value=0, max_value=10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_damaged_real_files_give_texts_or_a_workflow_error(
    source: Path, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(source.read_bytes()[: max(cut, 16)])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    with contextlib.suppress(WorkflowError):
        texts_of(bytes(data))


def test_the_payload_carries_the_kind_and_texts_and_nothing_else() -> None:
    payload = media_payload("webm", {"workflow": "{}"})
    assert payload_texts(payload) == ("webm", {"workflow": "{}"})
    assert payload_texts(b'{"nodes": []}') is None
    with pytest.raises(WorkflowError):
        payload_texts(payload[:-3])


def test_videos_and_audio_are_discovered_only_with_embedded_workflows_on(tmp_path: Path) -> None:
    for name in ("a.json", "b.png", "c.MP4", "d.mov", "e.webm", "f.mkv", "g.flac", "h.avi"):
        (tmp_path / name).write_bytes(b"")
    found: list[Any] = [p.name for p in discover_workflow_files(tmp_path)]
    assert found == ["a.json", "b.png", "c.MP4", "d.mov", "e.webm", "f.mkv", "g.flac"]
    assert [p.name for p in discover_workflow_files(tmp_path, include_images=False)] == ["a.json"]
