"""The forms people write models in, and folders inferred from input names."""

from __future__ import annotations

from watchman.comfy.model_key import ModelKey
from watchman.comfy.model_references import base_name_key, references_for_node
from watchman.comfy.value_forms import location_of, lora_tag_names, reads_lora_tags
from watchman.comfy.workflow import parse_workflow_json


def refs(node_type: str, values: list[tuple[str | None, object]]) -> list[tuple[str, str | None]]:
    return [
        (ref.value, ref.folder)
        for ref in references_for_node("1", node_type, values, bypassed=False, muted=False)
    ]


def test_core_input_names_give_their_folder_on_an_unknown_wrapper_marked_inferred() -> None:
    found = references_for_node(
        "1",
        "SomeonesUNETLoaderWrapper",
        [("unet_name", "flux.safetensors"), ("clip_name2", "t5.safetensors"), ("x", "None")],
        False,
        False,
    )
    assert [(ref.input, ref.folder, ref.inferred) for ref in found] == [
        ("unet_name", "diffusion_models", True),
        ("clip_name2", "text_encoders", True),
    ]
    assert refs("MyCLIPVisionLoader", [("clip_name", "vit.safetensors")]) == [
        ("vit.safetensors", "clip_vision")
    ]
    assert refs("MyLoader", [("refiner_ckpt_name", "r.safetensors")]) == [
        ("r.safetensors", "checkpoints")
    ]


def test_an_ambiguous_model_name_stays_of_unknown_folder() -> None:
    assert refs("SomeDetectorLoader", [("model_name", "yolo.pt")]) == [("yolo.pt", None)]
    assert refs("MyUpscaleModelLoader", [("model_name", "4x.pth")]) == [
        ("4x.pth", "upscale_models")
    ]


def test_a_known_loader_wins_over_inference() -> None:
    assert refs("CLIPVisionLoader", [("clip_name", "a.safetensors")]) == [
        ("a.safetensors", "clip_vision")
    ]


def test_lora_tags_count_on_nodes_that_read_them_and_not_in_plain_prompts() -> None:
    text = "a cat <lora:Cute Cat:0.8>, <lyco:style_v2> and <LORA:x:1:0.5>"
    assert lora_tag_names(text) == ("Cute Cat", "style_v2", "x")
    assert refs("Lora Loader (LoraManager)", [("text", text)]) == [
        ("Cute Cat", "loras"),
        ("style_v2", "loras"),
        ("x", "loras"),
    ]
    assert refs("ImpactWildcardEncode", [("wildcard_text", "<lora:w:1>")]) == [("w", "loras")]
    assert refs("Power Prompt (rgthree)", [("prompt", "<lora:p.safetensors:1>")]) == [
        ("p.safetensors", "loras")
    ]
    assert refs("CLIPTextEncode", [("text", text)]) == []


def test_easy_use_loaders_load_the_lora_tags_of_their_prompts() -> None:
    # Easy-Use's loaders run their prompts through process_with_loras; a LoRA named only
    # there must be found, or a workflow would be called ready without it.
    values = [("ckpt_name", "base.safetensors"), ("positive", "a fox <lora:foxy:0.7>")]
    assert refs("easy a1111Loader", values) == [
        ("base.safetensors", "checkpoints"),
        ("foxy", "loras"),
    ]
    assert refs("easy pipeEditPrompt", [("positive", "<lora:edit_me:1>")]) == [("edit_me", "loras")]
    assert reads_lora_tags("easy fluxLoader") and not reads_lora_tags("easy showAnything")


def test_lora_manager_applies_its_active_list_not_the_mirrored_text() -> None:
    entries = [
        {"name": "on_one", "strength": 1, "active": True},
        {"name": "off_one", "strength": 1, "active": False},
    ]
    values = [
        (None, {"version": 1}),
        ("text", "<lora:on_one:1> <lora:off_one:1>"),
        ("loras", entries),
    ]
    assert refs("Lora Loader (LoraManager)", values) == [("on_one", "loras")]


def test_power_lora_loader_entries_skip_those_switched_off() -> None:
    ui_values: list[tuple[str | None, object]] = [
        (None, {}),
        (None, {"type": "PowerLoraLoaderHeaderWidget"}),
        (
            None,
            {"on": True, "lora": "SDXL\\detail.safetensors", "strength": 1, "strengthTwo": None},
        ),
        (None, {"on": False, "lora": "off.safetensors", "strength": 1}),
        (None, {}),
        (None, ""),
    ]
    assert refs("Power Lora Loader (rgthree)", ui_values) == [("SDXL\\detail.safetensors", "loras")]
    api = parse_workflow_json(
        {
            "1": {
                "class_type": "Power Lora Loader (rgthree)",
                "inputs": {
                    "model": ["2", 0],
                    "lora_1": {"on": True, "lora": "a.safetensors", "strength": 0.7},
                    "lora_2": {"on": False, "lora": "b.safetensors", "strength": 1},
                    "➕ Add Lora": "",
                },
            }
        },
        "api.json",
    )
    assert [(ref.input, ref.value, ref.folder) for ref in api.model_refs] == [
        ("lora_1", "a.safetensors", "loras")
    ]


def test_a_url_value_counts_by_its_file_name_with_the_url_as_its_source() -> None:
    api = parse_workflow_json(
        {
            "2": {
                "class_type": "LoraLoader",
                "inputs": {
                    "lora_name": "https://huggingface.co/o/r/blob/main/my%20lora.safetensors?x=1",
                    "strength_model": 1,
                },
            },
            "3": {"class_type": "SomeDownloader", "inputs": {"url": "https://h/x.safetensors"}},
        },
        "api.json",
    )
    (reference,) = api.model_refs
    assert (reference.value, reference.folder) == ("my lora.safetensors", "loras")
    assert reference.embedded is not None
    assert (
        reference.embedded.url == "https://huggingface.co/o/r/blob/main/my%20lora.safetensors?x=1"
    )
    assert api.errors == ()


def test_an_absolute_path_counts_by_its_file_name_and_is_a_finding() -> None:
    api = parse_workflow_json(
        {
            "4": {
                "class_type": "CheckpointLoaderSimple",
                "inputs": {"ckpt_name": "D:\\models\\checkpoints\\sdxl.safetensors"},
            }
        },
        "api.json",
    )
    (reference,) = api.model_refs
    assert (reference.value, reference.folder) == ("sdxl.safetensors", "checkpoints")
    assert reference.written_as == "D:\\models\\checkpoints\\sdxl.safetensors"
    assert len(api.errors) == 1 and "made on" in api.errors[0]


def test_locations_need_a_file_name() -> None:
    assert location_of("https://civitai.com/api/download/models/123") is None
    assert location_of("/home/me/x.safetensors") is not None
    assert location_of("SDXL\\x.safetensors") is None
    assert location_of("\\\\server\\share\\x.pt") is not None


def test_embedded_metadata_attaches_by_the_model_keys_file_name() -> None:
    assert base_name_key("SDXL/./Detail.safetensors/") == "detail.safetensors"
    assert base_name_key("SDXL\\Detail.safetensors") == ModelKey.of(None, "Detail.safetensors").path


def test_prompt_embeddings_are_references_named_as_comfyui_first_tries_them() -> None:
    text = "a (embedding:x:1.2), embedding:y:0.5 embedding:w, EMBEDDING:z,embedding:v"
    refs = references_for_node("3", "CLIPTextEncode", [("text", text)], False, False)
    assert [(ref.value, ref.folder) for ref in refs] == [
        ("x", "embeddings"),
        ("y:0.5", "embeddings"),
        ("w,", "embeddings"),
    ]


def test_a_lora_tag_s_name_is_stripped_and_a_tag_never_closed_names_nothing() -> None:
    text = "<lora:  my style v2  :0.7> <LYCO:x> <lora:a" + " " * 100_000 + "b"
    assert lora_tag_names(text) == ("my style v2", "x")
    assert lora_tag_names("<lora:   >") == ()


def test_many_distinct_lora_tags_are_all_named_once_in_order() -> None:
    text = " ".join(f"<lora:l{index % 60_000}>" for index in range(120_000))
    assert lora_tag_names(text) == tuple(f"l{index}" for index in range(60_000))


def test_a_tag_naming_the_loader_s_own_lora_adds_nothing_among_thousands() -> None:
    # One reference per LoRA: the tag of the file the loader's own input names adds none,
    # and 20,000 distinct tags each count once, in order (a scan per tag took 8 s).
    text = " ".join(f"<lora:l{index}.safetensors>" for index in range(20_000))
    values = [("lora_name", "l7.safetensors"), ("text", text)]
    found = [
        ref.value for ref in references_for_node("1", "LoraLoaderWithTags", values, False, False)
    ]
    assert found[0] == "l7.safetensors"
    assert found[1:] == [f"l{index}.safetensors" for index in range(20_000) if index != 7]


def test_a_lora_manager_list_of_thousands_names_each_active_lora_once_in_order() -> None:
    entries = [{"name": f"l{index % 15_000}", "active": index % 2 == 0} for index in range(60_000)]
    values = [("loras", entries)]
    found = refs("Lora Loader (LoraManager)", values)
    assert found == [(f"l{index}", "loras") for index in range(0, 15_000, 2)]


def test_of_thousands_same_named_entries_the_one_in_the_loader_s_folder_is_attached() -> None:
    # A stranger's workflow lists one name in 5,000 directories, the loader's last; every
    # one of 2,000 loaders gets that entry (matched per loader, this took minutes).
    models = [
        {"name": "x.safetensors", "url": f"https://a.invalid/{index}", "directory": f"d{index}"}
        for index in range(5_000)
    ]
    models.append({"name": "x.safetensors", "url": "https://a.invalid/lora", "directory": "loras"})
    nodes = [
        {"id": index, "type": "LoraLoader", "widgets_values": ["x.safetensors", 1, 1]}
        for index in range(2_000)
    ]
    parsed = parse_workflow_json({"nodes": nodes, "links": [], "models": models}, "w.json")
    assert len(parsed.model_refs) == 2_000
    assert {ref.embedded.url for ref in parsed.model_refs if ref.embedded} == {
        "https://a.invalid/lora"
    }
    assert parsed.errors == ()
