"""The scan view reads files and folders and renders the issue's JSON shape."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from watchman.commands.scan import scan_entry_to_json, scan_paths

UI = {
    "nodes": [
        {"id": 1, "type": "LoraLoader", "mode": 4, "widgets_values": ["x/ink.safetensors", 1, 1]},
        {"id": 2, "type": "Note", "widgets_values": ["get y.safetensors"]},
    ],
    "models": [{"name": "ink.safetensors", "url": "https://h/ink", "directory": "loras"}],
}


def png_with_text(key: str, text: str) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"tEXt", key.encode() + b"\x00" + text.encode())
        + chunk(b"IEND", b"")
    )


def make_tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "a.json").write_text(json.dumps(UI), encoding="utf-8")
    (root / "sub" / "b.json").write_text("{oops", encoding="utf-8")
    (root / "sub" / "c.png").write_bytes(png_with_text("workflow", json.dumps(UI)))
    (root / "notes.txt").write_text("not a workflow", encoding="utf-8")


def test_a_folder_is_scanned_recursively_with_one_entry_per_workflow_file(tmp_path: Path) -> None:
    make_tree(tmp_path)
    entries = scan_paths([tmp_path])
    assert [entry.path.relative_to(tmp_path).as_posix() for entry in entries] == [
        "a.json",
        "sub/b.json",
        "sub/c.png",
    ]
    assert [entry.format for entry in entries] == ["ui", None, "png"]


def test_images_are_left_out_when_asked(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert [entry.path.name for entry in scan_paths([tmp_path], include_images=False)] == [
        "a.json",
        "b.json",
    ]


def test_an_unreadable_file_is_an_entry_with_its_error(tmp_path: Path) -> None:
    entries = scan_paths([tmp_path / "absent.json"])
    assert entries[0].parsed is None and entries[0].format is None
    assert "absent.json" in entries[0].errors[0]


def test_the_json_view_has_exactly_the_issue_shape(tmp_path: Path) -> None:
    make_tree(tmp_path)
    document = scan_entry_to_json(scan_paths([tmp_path / "a.json"])[0])
    assert document == {
        "path": str(tmp_path / "a.json"),
        "format": "ui",
        "node_types": ["LoraLoader"],
        "model_refs": [
            {
                "node_id": "1",
                "node_type": "LoraLoader",
                "input": "lora_name",
                "value": "x/ink.safetensors",
                "folder": "loras",
                "inferred": False,
                "bypassed": True,
            }
        ],
        "input_files": [],
        "embedded_models": [
            {
                "name": "ink.safetensors",
                "url": "https://h/ink",
                "directory": "loras",
                "hash": None,
                "hash_type": None,
            }
        ],
        "errors": [],
    }
    json.dumps(document)


def test_the_files_a_workflow_names_in_comfyui_s_input_folder_are_listed(tmp_path: Path) -> None:
    workflow = tmp_path / "img2img.json"
    nodes = [
        {"id": 3, "type": "LoadImage", "widgets_values": ["their photo.png", "image"]},
        {"id": 4, "type": "LoadImageOutput", "mode": 2, "widgets_values": ["r.png [output]"]},
    ]
    workflow.write_text(json.dumps({"nodes": nodes, "links": []}), encoding="utf-8")
    files = scan_entry_to_json(scan_paths([workflow])[0])["input_files"]
    assert files == [
        {
            "node_id": "3",
            "node_type": "LoadImage",
            "input": "image",
            "value": "their photo.png",
            "folder": "input",
            "bypassed": False,
        },
        {
            "node_id": "4",
            "node_type": "LoadImageOutput",
            "input": "image",
            "value": "r.png",
            "folder": "output",
            "bypassed": True,
        },
    ]


def test_a_broken_file_renders_with_empty_lists_and_its_error(tmp_path: Path) -> None:
    make_tree(tmp_path)
    document = scan_entry_to_json(scan_paths([tmp_path / "sub" / "b.json"])[0])
    assert document["format"] is None and document["model_refs"] == [] and document["errors"]


def test_a_folder_known_only_from_the_input_s_name_is_marked_inferred(tmp_path: Path) -> None:
    workflow = tmp_path / "w.json"
    workflow.write_text(
        '{"1": {"class_type": "MyPackCheckpointWrapper",'
        ' "inputs": {"ckpt_name": "sdxl.safetensors"}}}',
        encoding="utf-8",
    )
    [reference] = scan_entry_to_json(scan_paths([workflow])[0])["model_refs"]
    assert (reference["folder"], reference["inferred"]) == ("checkpoints", True)
