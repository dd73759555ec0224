"""Reading UI-format workflows: widgets, subgraphs, group nodes, states, embedded models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cycle_reader import read_as_the_cycle_does
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.comfy.workflow_model import ModelReference, ParsedWorkflow
from watchman.errors import StateError, WorkflowError

SUBGRAPH_ID = "11111111-2222-4333-8444-555555555555"
INNER_SUBGRAPH_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def node(
    node_id: int,
    node_type: str,
    widgets: Any = None,
    mode: int = 0,
    inputs: list[dict[str, Any]] | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": node_type,
        "mode": mode,
        "inputs": inputs or [],
        "properties": properties or {},
        "widgets_values": widgets if widgets is not None else [],
    }


def parse(document: dict[str, Any]) -> ParsedWorkflow:
    return parse_workflow_bytes(json.dumps(document).encode(), "test.json")


def refs(parsed: ParsedWorkflow) -> list[tuple[str, str | None, str, str | None]]:
    return [(ref.node_id, ref.input, ref.value, ref.folder) for ref in parsed.model_refs]


def test_a_checkpoint_loader_value_is_a_checkpoints_reference_with_its_subfolder_kept() -> None:
    parsed = parse({"nodes": [node(4, "CheckpointLoaderSimple", ["SDXL\\base.safetensors"])]})
    assert parsed.format == "ui"
    assert refs(parsed) == [("4", "ckpt_name", "SDXL\\base.safetensors", "checkpoints")]


def test_every_clip_of_a_quadruple_loader_is_a_text_encoder_reference() -> None:
    values = ["a.safetensors", "b.safetensors", "c.safetensors", "d.safetensors"]
    parsed = parse({"nodes": [node(1, "QuadrupleCLIPLoader", values)]})
    assert [(ref.input, ref.folder) for ref in parsed.model_refs] == [
        ("clip_name1", "text_encoders"),
        ("clip_name2", "text_encoders"),
        ("clip_name3", "text_encoders"),
        ("clip_name4", "text_encoders"),
    ]


def test_widgets_values_as_a_dict_are_read_by_name() -> None:
    widgets = {"lora_name": "styles/ink.safetensors", "strength_model": 1.0}
    parsed = parse({"nodes": [node(2, "LoraLoaderModelOnly", widgets)]})
    assert refs(parsed) == [("2", "lora_name", "styles/ink.safetensors", "loras")]


def test_a_widget_converted_to_a_link_shifts_the_positions_when_its_value_is_absent() -> None:
    # vae_name is fed by a link and has no slot left: the lora name is the 4th value.
    inputs = [{"name": "vae_name", "link": 7, "widget": {"name": "vae_name"}}]
    values = ["model.safetensors", -1, "my_lora.safetensors", 1, 1, "pos", "neg"]
    values += ["none", "comfy", 512, 512, 1]
    parsed = parse({"nodes": [node(3, "Efficient Loader", values, inputs=inputs)]})
    assert ("3", "lora_name", "my_lora.safetensors", "loras") in refs(parsed)
    assert ("3", "ckpt_name", "model.safetensors", "checkpoints") in refs(parsed)


def test_a_control_after_generate_value_shifts_the_positions_of_later_widgets() -> None:
    # The frontend lists the node's widget inputs without the control value it stores
    # after the seed: names must skip "randomize" to land on the right values.
    inputs = [
        {"name": "seed", "widget": {"name": "seed"}, "link": None},
        {"name": "model_file", "widget": {"name": "model_file"}, "link": None},
        {"name": "precision", "widget": {"name": "precision"}, "link": None},
    ]
    values = [42, "randomize", "x.gguf", "fp16"]
    parsed = parse({"nodes": [node(5, "Pack Sampler", values, inputs=inputs)]})
    assert refs(parsed) == [("5", "model_file", "x.gguf", None)]


def test_a_table_loader_saved_by_an_older_version_with_fewer_widgets_is_named_from_the_start() -> (
    None
):
    # CLIPLoader gained its "device" widget later; older workflows store two values.
    parsed = parse({"nodes": [node(8, "CLIPLoader", ["t5xxl.safetensors", "sd3"])]})
    assert refs(parsed) == [("8", "clip_name", "t5xxl.safetensors", "text_encoders")]


def test_a_table_loader_value_beyond_its_known_widgets_is_still_caught_as_unknown_folder() -> None:
    # A newer pack version appended a file widget the table does not list yet.
    parsed = parse({"nodes": [node(8, "VAELoader", ["v.safetensors", "extra.safetensors"])]})
    assert refs(parsed) == [
        ("8", "vae_name", "v.safetensors", "vae"),
        ("8", None, "extra.safetensors", None),
    ]


def test_an_unknown_node_string_with_a_model_extension_is_a_reference_of_unknown_folder() -> None:
    parsed = parse({"nodes": [node(6, "Some Pack Loader", ["mine/thing.pth", "fp16", 3])]})
    assert refs(parsed) == [("6", None, "mine/thing.pth", None)]


def test_notes_urls_and_multi_line_strings_never_give_model_names() -> None:
    parsed = parse(
        {
            "nodes": [
                node(1, "Note", ["download model.safetensors first"]),
                node(2, "MarkdownNote", ["[x](https://h/a.safetensors)"]),
                node(3, "Custom Thing", ["https://example.com/files/a.safetensors"]),
                node(4, "Custom Thing", ["line one\nb.safetensors"]),
            ]
        }
    )
    assert parsed.model_refs == ()
    assert "Note" not in parsed.node_types and "MarkdownNote" not in parsed.node_types


def test_placeholders_and_presets_of_known_loaders_are_not_files() -> None:
    parsed = parse(
        {
            "nodes": [
                node(1, "VAELoader", ["taesd"]),
                node(2, "LoraLoader", ["None", 1, 1]),
                node(3, "IPAdapterUnifiedLoader", ["PLUS (high strength)"]),
            ]
        }
    )
    assert parsed.model_refs == ()


def test_embedding_tokens_in_prompt_text_are_embeddings_references_as_written() -> None:
    prompt = "photo, (embedding:EasyNegative:1.2), embedding:sub/bad_hands.pt and more"
    parsed = parse({"nodes": [node(9, "CLIPTextEncode", [prompt])]})
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [
        ("EasyNegative", "embeddings"),
        ("sub/bad_hands.pt", "embeddings"),
    ]


def test_bypassed_and_muted_nodes_are_reported_apart() -> None:
    parsed = parse(
        {
            "nodes": [
                node(1, "VAELoader", ["a.safetensors"], mode=4),
                node(2, "VAELoader", ["b.safetensors"], mode=2),
                node(3, "VAELoader", ["c.safetensors"]),
            ]
        }
    )
    states = {ref.value: (ref.bypassed, ref.muted) for ref in parsed.model_refs}
    assert states == {
        "a.safetensors": (True, False),
        "b.safetensors": (False, True),
        "c.safetensors": (False, False),
    }
    assert [(use.bypassed, use.muted) for use in parsed.nodes] == [
        (True, False),
        (False, True),
        (False, False),
    ]


def subgraph_workflow(instance_mode: int = 0) -> dict[str, Any]:
    inner = {
        "id": INNER_SUBGRAPH_ID,
        "nodes": [node(1, "UNETLoader", ["deep/unet.safetensors", "default"])],
        "links": [],
    }
    outer = {
        "id": SUBGRAPH_ID,
        "nodes": [
            node(3, "VAELoader", ["ae.safetensors"]),
            node(4, INNER_SUBGRAPH_ID),
        ],
        "links": [],
        "definitions": {"subgraphs": [inner]},
    }
    return {
        "nodes": [node(10, SUBGRAPH_ID, ["ae.safetensors"], mode=instance_mode)],
        "definitions": {"subgraphs": [outer]},
    }


def test_nested_subgraphs_expand_to_inner_nodes_with_outer_and_inner_ids() -> None:
    parsed = parse(subgraph_workflow())
    assert refs(parsed) == [
        ("10:3", "vae_name", "ae.safetensors", "vae"),
        ("10:4:1", "unet_name", "deep/unet.safetensors", "diffusion_models"),
    ]
    assert parsed.node_types == ("UNETLoader", "VAELoader")
    assert parsed.subgraph_ids == frozenset({SUBGRAPH_ID, INNER_SUBGRAPH_ID})
    assert parsed.errors == ()


def test_a_bypassed_subgraph_instance_bypasses_its_inner_nodes() -> None:
    parsed = parse(subgraph_workflow(instance_mode=4))
    assert all(ref.bypassed for ref in parsed.model_refs)
    assert all(use.bypassed for use in parsed.nodes)


def test_an_undefined_subgraph_is_reported_not_a_crash_and_not_a_node_type() -> None:
    missing = "99999999-2222-4333-8444-555555555555"
    parsed = parse({"nodes": [node(7, missing), node(8, "SaveImage")]})
    assert parsed.node_types == ("SaveImage",)
    assert len(parsed.errors) == 1 and missing in parsed.errors[0] and "7" in parsed.errors[0]


def test_a_subgraph_that_contains_itself_is_reported_and_not_followed() -> None:
    looping = {"id": SUBGRAPH_ID, "nodes": [node(1, SUBGRAPH_ID)], "links": []}
    parsed = parse({"nodes": [node(1, SUBGRAPH_ID)], "definitions": {"subgraphs": [looping]}})
    assert parsed.nodes == ()
    assert any("inside itself" in error for error in parsed.errors)


@pytest.mark.parametrize("separator", [">", "/"])
def test_legacy_group_nodes_expand_and_take_the_instance_widget_values(separator: str) -> None:
    group = {
        "nodes": [
            {**node(-1, "CheckpointLoaderSimple", ["old.safetensors"]), "index": 0},
            {**node(-1, "LoraLoader", ["old_lora.safetensors", 1, 1]), "index": 1},
        ],
        "links": [],
    }
    instance_values = ["new.safetensors", "new_lora.safetensors", 0.5, 0.5]
    parsed = parse(
        {
            "nodes": [node(15, f"workflow{separator}pair", instance_values, mode=2)],
            "extra": {"groupNodes": {"pair": group}},
        }
    )
    assert refs(parsed) == [
        ("15:0", "ckpt_name", "new.safetensors", "checkpoints"),
        ("15:1", "lora_name", "new_lora.safetensors", "loras"),
    ]
    assert parsed.node_types == ("CheckpointLoaderSimple", "LoraLoader")
    assert all(ref.muted for ref in parsed.model_refs)


def test_an_undefined_group_node_is_reported() -> None:
    parsed = parse({"nodes": [node(1, "workflow>ghost")], "extra": {"groupNodes": {}}})
    assert parsed.nodes == () and "ghost" in parsed.errors[0]


def test_embedded_models_attach_to_the_reference_with_the_same_base_name() -> None:
    own = {"name": "SDXL/Base.safetensors", "url": "https://h/base", "directory": "checkpoints"}
    parsed = parse(
        {
            "nodes": [
                node(
                    1,
                    "CheckpointLoaderSimple",
                    ["sdxl\\base.SAFETENSORS"],
                    properties={"models": [own]},
                )
            ],
            "models": [{"name": "other.safetensors", "url": "https://h/o", "directory": "loras"}],
        }
    )
    reference = parsed.model_refs[0]
    assert reference.embedded is not None and reference.embedded.url == "https://h/base"
    assert len(parsed.embedded_models) == 2 and parsed.errors == ()


def test_a_parse_s_gist_keeps_its_format_findings_and_embedded_models_and_nothing_else() -> None:
    own = {"name": "base.safetensors", "url": "https://h/base", "directory": "checkpoints"}
    parsed = parse(
        {
            "nodes": [
                node(
                    1, "CheckpointLoaderSimple", ["base.safetensors"], properties={"models": [own]}
                ),
                node(2, "workflow>ghost"),
            ],
            "extra": {"groupNodes": {}},
        }
    )
    gist = parsed.gist()
    assert (gist.format, gist.errors, gist.embedded_models) == (
        parsed.format,
        parsed.errors,
        parsed.embedded_models,
    )
    assert parsed.nodes and parsed.model_refs and parsed.errors and parsed.embedded_models
    assert (gist.nodes, gist.model_refs, gist.undefined_instances, gist.numbers) == (
        (),
        (),
        (),
        b"",
    )


def test_an_embedded_directory_that_contradicts_the_loader_is_reported_and_the_loader_wins() -> (
    None
):
    entry = {"name": "x.safetensors", "url": "https://h/x", "directory": "loras"}
    parsed = parse(
        {"nodes": [node(1, "UNETLoader", ["x.safetensors", "default"])], "models": [entry]}
    )
    assert parsed.model_refs[0].folder == "diffusion_models"
    assert len(parsed.errors) == 1 and "loras" in parsed.errors[0]


def test_a_legacy_embedded_directory_name_agrees_with_its_canonical_folder() -> None:
    entry = {"name": "t5.safetensors", "url": None, "directory": "clip"}
    parsed = parse(
        {"nodes": [node(1, "CLIPLoader", ["t5.safetensors", "flux", "default"])], "models": [entry]}
    )
    assert parsed.errors == () and parsed.model_refs[0].embedded is not None


def test_an_embedded_directory_gives_an_unknown_node_its_folder() -> None:
    entry = {"name": "m.safetensors", "url": "https://h/m", "directory": "geometry_estimation"}
    parsed = parse({"nodes": [node(1, "Brand New Loader", ["m.safetensors"])], "models": [entry]})
    assert parsed.model_refs[0].folder == "geometry_estimation"


def test_node_properties_give_pack_ids_and_version() -> None:
    properties = {"cnr_id": "comfyui-impact-pack", "aux_id": "ltdrdata/x", "ver": "8.1"}
    parsed = parse({"nodes": [node(1, "SAMLoader", ["sam.pth", "AUTO"], properties=properties)]})
    use = parsed.nodes[0]
    assert (use.cnr_id, use.aux_id, use.version) == ("comfyui-impact-pack", "ltdrdata/x", "8.1")


def test_a_model_input_fed_by_a_real_node_is_not_read_from_its_stale_widget_value() -> None:
    inputs = [{"name": "ckpt_name", "link": 3, "widget": {"name": "ckpt_name"}}]
    parsed = parse(
        {
            "nodes": [
                node(1, "CheckpointLoaderSimple", ["stale.safetensors"], inputs=inputs),
                node(2, "Checkpoint Picker", ["picked.safetensors"]),
            ],
            "links": [[3, 2, 0, 1, 0, "COMBO"]],
        }
    )
    assert [ref.value for ref in parsed.model_refs] == ["picked.safetensors"]


def test_the_parse_round_trips_through_json() -> None:
    parsed = parse(subgraph_workflow())
    restored = ParsedWorkflow.from_json(json.loads(json.dumps(parsed.to_json())))
    assert restored == parsed
    with pytest.raises(StateError):
        ParsedWorkflow.from_json({"schema_version": 0})


def test_model_reference_is_frozen() -> None:
    reference = ModelReference("1", "VAELoader", "vae_name", "a", "vae", False, False, None)
    with pytest.raises(AttributeError):
        reference.value = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"hello": 1}', "not a ComfyUI workflow"),
        (b"[1, 2]", "not a ComfyUI workflow"),
        (b"\xff\xfe\x00bad", "neither UTF-8 JSON"),
    ],
)
def test_what_is_not_a_workflow_raises_a_workflow_error_naming_the_file(
    data: bytes, phrase: str
) -> None:
    with pytest.raises(WorkflowError, match=phrase) as caught:
        parse_workflow_bytes(data, "broken.json")
    assert "broken.json" in str(caught.value)


def test_a_workflow_file_is_read_from_disk_and_raises_oserror_for_a_missing_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.json"
    path.write_text(
        json.dumps({"nodes": [node(1, "VAELoader", ["v.safetensors"])]}), encoding="utf-8"
    )
    assert read_as_the_cycle_does(path).model_refs[0].value == "v.safetensors"
    with pytest.raises(OSError):
        read_as_the_cycle_does(tmp_path / "absent.json")


def _ui_with(widgets: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "nodes": [node(i, t, w) for i, (t, w) in enumerate(widgets.items(), start=1)],
        "links": [],
    }


@pytest.mark.parametrize(
    "document",
    [
        _ui_with({"LoraLoader": ["a" * 256 + ".safetensors", 1.0, 1.0]}),
        _ui_with({"CLIPTextEncode": ["a cat, embedding:" + "b" * 1_000_000]}),
        {
            "1": {
                "class_type": "CheckpointLoaderSimple",
                "inputs": {"ckpt_name": "c" * 300 + ".ckpt"},
            }
        },
        {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "embedding:" + "d" * 300}}},
    ],
    ids=["ui loader", "ui prompt", "api loader", "api prompt"],
)
def test_a_model_name_no_file_system_can_hold_is_a_parse_error_whose_message_stays_short(
    document: dict[str, Any],
) -> None:
    with pytest.raises(WorkflowError, match="MAX_FILE_NAME_CHARS") as caught:
        parse(document)
    message = str(caught.value)
    assert "no file can be it" in message and len(message) < 400


def test_a_long_path_of_short_parts_and_a_name_of_255_characters_are_still_references() -> None:
    deep = "/".join(["sub" * 50] * 30) + "/x.safetensors"  # 4.5 KB, each part 150
    longest = "e" * 243 + ".safetensors"  # exactly 255 characters
    parsed = parse(_ui_with({"LoraLoader": [deep, 1.0, 1.0], "CheckpointLoaderSimple": [longest]}))
    assert sorted(reference.value for reference in parsed.model_refs) == sorted([deep, longest])
