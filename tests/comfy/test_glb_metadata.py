"""A GLB that ComfyUI's SaveGLB wrote gives its workflow from the JSON chunk alone; the
mesh is never read, and a stranger's GLB costs that file at most."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest

from tests.media_files import CountingFile, glb_with_extras, workflow_read_from
from watchman.comfy import glb_metadata
from watchman.comfy.media_metadata import media_payload, read_media_texts
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError, WorkflowError
from watchman.stages.watched_folders import read_workflow_bytes

WORKFLOW = {
    "nodes": [{"id": 1, "type": "ImageOnlyCheckpointLoader", "widgets_values": ["3d.ckpt"]}]
}
PROMPT = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "mesh_vae.safetensors"}}}


def test_a_glb_saved_by_comfyui_gives_its_ui_workflow(tmp_path: Path) -> None:
    path = tmp_path / "mesh_00001_.glb"
    path.write_bytes(
        glb_with_extras({"prompt": json.dumps(PROMPT), "workflow": json.dumps(WORKFLOW)})
    )
    parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), path.name)
    assert parsed.format == "glb"
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [("3d.ckpt", "checkpoints")]


def test_extras_kept_as_objects_are_read_too() -> None:
    data = glb_with_extras({"prompt": PROMPT})
    kind, texts = read_media_texts(io.BytesIO(data), len(data), "m.glb")
    assert kind == "glb"
    assert json.loads(texts["prompt"]) == PROMPT


def test_only_the_header_and_the_json_chunk_are_read() -> None:
    data = glb_with_extras({"workflow": json.dumps(WORKFLOW)}, binary=b"\0" * 5_000_000)
    workflow, bytes_read = workflow_read_from(data, "big.glb")
    assert workflow == WORKFLOW
    assert bytes_read < 1_000


@pytest.mark.parametrize(
    "extras",
    [{}, {"author": "me"}, "not an object", {"workflow": 7}],
)
def test_a_glb_without_workflow_extras_is_no_workflow_and_no_error(extras: object) -> None:
    data = glb_with_extras(extras)
    with pytest.raises(ImageWithoutWorkflowError):
        parse_workflow_bytes(_payload(data), "plain.glb")


def test_a_json_chunk_past_the_limit_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glb_metadata, "MAX_GLB_JSON_BYTES", 64)
    data = glb_with_extras({"workflow": json.dumps(WORKFLOW)})
    handle = CountingFile(data)
    with pytest.raises(WorkflowError, match="MAX_TEXT_BYTES"):
        read_media_texts(handle, len(data), "huge.glb")
    assert handle.bytes_read <= 36


def test_a_chunk_that_claims_bytes_past_the_end_is_a_damaged_glb() -> None:
    data = glb_with_extras({"workflow": json.dumps(WORKFLOW)})
    lying = data[:12] + struct.pack("<I", 10_000_000) + data[16:]
    with pytest.raises(WorkflowError, match="damaged GLB"):
        read_media_texts(io.BytesIO(lying), len(lying), "cut.glb")


@pytest.mark.parametrize(
    "data",
    [
        b"glTF\x02\0\0\0",  # a header cut short
        b"glTF" + struct.pack("<III", 2, 40, 8) + b"BIN\0" + b"\0" * 8,  # no JSON chunk first
        b"glTF" + struct.pack("<IIII", 2, 40, 12, 0x4E4F534A) + b"{not json}  ",
        b"glTF" + struct.pack("<IIII", 2, 40, 12, 0x4E4F534A) + b"[1, 2, 3]   ",
    ],
)
def test_broken_glbs_cost_nothing_but_that_file(data: bytes) -> None:
    try:
        parse_workflow_bytes(_payload(data), "broken.glb")
    except WorkflowError as error:
        assert "broken.glb" in str(error)


def _payload(data: bytes) -> bytes:
    """What the cycle hands the reader for a GLB holding ``data``."""
    return media_payload(*read_media_texts(io.BytesIO(data), len(data), "broken.glb"))
