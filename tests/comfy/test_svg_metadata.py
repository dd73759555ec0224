"""An SVG that ComfyUI's SaveSVGNode wrote gives its workflow from its ``<metadata>``
CDATA, found the way the frontend finds it; the drawing is text to us, never XML."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.media_files import CountingFile, svg_with_metadata
from watchman.comfy import svg_metadata
from watchman.comfy.media_metadata import media_payload, read_media_texts
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import ImageWithoutWorkflowError
from watchman.stages.watched_folders import discover_workflow_files, read_workflow_bytes

WORKFLOW = {"nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["v.ckpt"]}]}
PROMPT = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "svg_vae.safetensors"}}}
METADATA = json.dumps({"prompt": PROMPT, "workflow": WORKFLOW}, indent=2).encode()


def texts_of(data: bytes) -> tuple[str, dict[str, str]]:
    return read_media_texts(io.BytesIO(data), len(data), "drawing.svg")


def test_an_svg_saved_by_comfyui_gives_its_ui_workflow(tmp_path: Path) -> None:
    path = tmp_path / "ComfyUI_00001_.svg"
    path.write_bytes(svg_with_metadata(METADATA))
    parsed = parse_workflow_bytes(read_workflow_bytes(path, path.stat().st_size), path.name)
    assert parsed.format == "svg"
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [("v.ckpt", "checkpoints")]


@pytest.mark.parametrize(
    "data",
    [
        b"<svg><METADATA><![CDATA[" + METADATA + b"]]></Metadata></svg>",
        b"<svg>\n<metadata>\r\n\t<![CDATA[" + METADATA + b"]]>\n\n</metadata></svg>",
        b"\xef\xbb\xbf \n<svg><metadata><![CDATA[" + METADATA + b"]]></metadata></svg>",
        b"<!-- made by hand --><svg><metadata><![CDATA[" + METADATA + b"]]></metadata></svg>",
    ],
)
def test_case_white_space_and_a_byte_order_mark_do_not_matter(data: bytes) -> None:
    kind, texts = texts_of(data)
    assert kind == "svg"
    assert json.loads(texts["workflow"]) == WORKFLOW
    assert json.loads(texts["prompt"]) == PROMPT


@pytest.mark.parametrize(
    "content",
    [
        b'<metadata id="m"><![CDATA[' + METADATA + b"]]></metadata>",  # not the bare tag
        b"<metadata>" + METADATA + b"</metadata>",  # not in a CDATA section
        b"<metadata><![CDATA[" + METADATA + b"]]><title>t</title></metadata>",
        b"<metadata><![CDATA[" + METADATA,  # never closed
        b"<metadata><![CDATA[[1, 2]]]></metadata>",  # not an object
        b"<desc>" + METADATA + b"</desc>",
    ],
)
def test_other_shapes_are_no_workflow_and_no_error(content: bytes) -> None:
    data = b"<svg>" + content + b"</svg>"
    with pytest.raises(ImageWithoutWorkflowError, match=r"drawing\.svg is an SVG image with no"):
        parse_workflow_bytes(media_payload(*texts_of(data)), "drawing.svg")


def test_the_first_metadata_section_is_the_one_read() -> None:
    other = json.dumps({"workflow": {"nodes": []}}).encode()
    data = svg_with_metadata(METADATA, drawing=b"<metadata><![CDATA[" + other + b"]]></metadata>")
    assert json.loads(texts_of(data)[1]["workflow"]) == WORKFLOW


def test_only_the_head_of_a_large_svg_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svg_metadata, "MAX_SVG_BYTES", 1_000)
    late = b"<svg>" + b" " * 2_000 + b"<metadata><![CDATA[" + METADATA + b"]]></metadata></svg>"
    handle = CountingFile(late)
    assert read_media_texts(handle, len(late), "late.svg")[1] == {}
    assert handle.bytes_read <= 1_016


def test_a_text_that_is_not_xml_is_no_svg() -> None:
    assert texts_of(b'{"nodes": []}') == ("unknown", {})


def test_svg_glb_and_avif_files_are_discovered_with_embedded_workflows_on(tmp_path: Path) -> None:
    for name in ("a.json", "b.SVG", "c.glb", "d.avif", "e.gltf", "f.heic"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in discover_workflow_files(tmp_path)] == [
        "a.json",
        "b.SVG",
        "c.glb",
        "d.avif",
    ]
    assert [p.name for p in discover_workflow_files(tmp_path, include_images=False)] == ["a.json"]
