"""Files a workflow names in ComfyUI's input folder are read as references of their own."""

from __future__ import annotations

import json

from watchman.comfy.input_files import (
    MAX_INPUT_NAME_CHARS,
    InputFileReference,
    annotated,
)
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_model import ParsedWorkflow
from watchman.stages.workflow_cache import pack_parse, unpack_parse


def ui(*nodes: dict, links: list | None = None, **document: object) -> bytes:
    return json.dumps({"nodes": list(nodes), "links": links or [], **document}).encode()


def load_image(node_id: int, value: object, **fields: object) -> dict:
    return {"id": node_id, "type": "LoadImage", "widgets_values": [value, "image"], **fields}


def parse(data: bytes) -> ParsedWorkflow:
    return parse_workflow_bytes(data, "the workflow")


def test_an_annotation_names_the_folder_and_goes_as_comfyui_strips_it() -> None:
    assert annotated("cat.png") == ("cat.png", "input")
    assert annotated("cat.png [input]") == ("cat.png", "input")
    assert annotated("ComfyUI_0001_.png [output]") == ("ComfyUI_0001_.png", "output")
    assert annotated("preview.png [temp]") == ("preview.png", "temp")
    assert annotated("clipspace/mask.png") == ("clipspace/mask.png", "input")


def test_a_load_image_node_names_its_image_in_the_input_folder() -> None:
    parsed = parse(ui(load_image(3, "pasted/photo (2).png")))
    assert parsed.input_files == (
        InputFileReference(
            "3", "LoadImage", "image", "pasted/photo (2).png", "input", False, False
        ),
    )
    assert parsed.model_refs == ()


def test_video_helper_suite_s_dict_of_widget_values_is_read_by_name() -> None:
    node = {
        "id": 7,
        "type": "VHS_LoadVideo",
        "widgets_values": {"video": "dance.mp4", "force_rate": 0, "videopreview": {}},
    }
    (reference,) = parse(ui(node)).input_files
    assert (reference.input, reference.value) == ("video", "dance.mp4")


def test_bypassed_and_muted_nodes_keep_their_state_on_the_reference() -> None:
    parsed = parse(ui(load_image(1, "a.png", mode=4), load_image(2, "b.png", mode=2)))
    assert [(r.bypassed, r.muted) for r in parsed.input_files] == [(True, False), (False, True)]


def test_an_input_fed_by_a_link_from_another_node_is_not_read() -> None:
    primitive = {"id": 1, "type": "PrimitiveString", "widgets_values": ["x.png"]}
    loader = load_image(
        2, "stale.png", inputs=[{"name": "image", "link": 5, "widget": {"name": "image"}}]
    )
    parsed = parse(ui(primitive, loader, links=[[5, 1, 0, 2, 0, "STRING"]]))
    assert parsed.input_files == ()


def test_a_value_that_is_not_a_text_names_no_file() -> None:
    parsed = parse(ui(load_image(1, None), load_image(2, 12), load_image(3, "  ")))
    assert parsed.input_files == ()


def test_a_value_longer_than_any_path_is_kept_cut() -> None:
    (reference,) = parse(ui(load_image(1, "a" * (MAX_INPUT_NAME_CHARS * 3)))).input_files
    assert len(reference.value) == MAX_INPUT_NAME_CHARS


def test_a_subgraph_instance_hands_its_value_to_the_inner_loader() -> None:
    inner = load_image(
        1, "inner.png", inputs=[{"name": "image", "link": 9, "widget": {"name": "image"}}]
    )
    definition = {
        "id": "aaaaaaaa-0000-4000-8000-000000000001",
        "nodes": [inner],
        "links": [{"id": 9, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0}],
        "inputs": [{"name": "image", "type": "COMBO", "linkIds": [9]}],
    }
    instance = {
        "id": 4,
        "type": definition["id"],
        "inputs": [{"name": "image", "link": None, "widget": {"name": "image"}}],
        "widgets_values": ["outer.png"],
    }
    parsed = parse(ui(instance, definitions={"subgraphs": [definition]}))
    assert [(r.node_id, r.value) for r in parsed.input_files] == [("4:1", "outer.png")]


def test_an_api_prompt_names_its_input_files_by_input_name() -> None:
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "a.png [input]", "upload": "image"}},
        "2": {"class_type": "LoadAudio", "inputs": {"audio": ["5", 0]}},
        "3": {"class_type": "LoadImageOutput", "inputs": {"image": "render.png [output]"}},
    }
    parsed = parse(json.dumps(prompt).encode())
    assert [(r.node_id, r.value, r.folder) for r in parsed.input_files] == [
        ("1", "a.png", "input"),
        ("3", "render.png", "output"),
    ]


def test_input_files_survive_the_parse_cache_and_its_json() -> None:
    parsed = parse(ui(load_image(1, "a.png"), load_image(2, "b.png [temp]", mode=4)))
    packed = json.loads(json.dumps(pack_parse(parsed)))
    assert unpack_parse(packed) == parsed
    assert ParsedWorkflow.from_json(json.loads(json.dumps(parsed.to_json()))) == parsed
