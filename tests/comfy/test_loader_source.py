"""Loader specs read from packs' source: every style, never by importing it."""

from __future__ import annotations

import pytest

from watchman.comfy.loader_lookup import LoaderTable, loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders

from .loader_pack_sources import (
    BORROWED,
    BOUND_NAMES,
    BROKEN,
    CLASSIC,
    CROSS_FILE_NODES,
    CROSS_FILE_OTHER,
    CROSS_FILE_UTILS,
    HELPERS,
    LOOPS,
    V3,
    WRAPPERS,
)


def learned(*sources: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, _ = learn_loaders((name, text.encode()) for name, text in sources)
    return {loader.node_type: loader for loader in loaders}


def test_a_classic_loader_gives_its_folders_and_widget_order_without_sockets() -> None:
    loader = learned(("nodes.py", CLASSIC))["My Checkpoint Loader"]
    assert loader.widgets == ("ckpt", "strength", "lora")
    assert dict(loader.model_inputs) == {"ckpt": ("checkpoints",), "lora": ("loras",)}


def test_names_helpers_methods_comprehensions_and_folder_paths_are_followed() -> None:
    found = learned(("nodes.py", BOUND_NAMES))
    bound = found["Bound Loader"]
    assert bound.widgets == ("upscaler", "vae", "unet", "device")
    assert dict(bound.model_inputs) == {
        "upscaler": ("upscale_models",),
        "vae": ("vae", "vae_approx"),
        "unet": ("unet_gguf",),
    }
    assert dict(found["ClipListLoader"].model_inputs) == {
        "clip_name": ("text_encoders", "clip_gguf")
    }
    assert dict(found["FolderPathLoader"].model_inputs) == {"provider": ("insightface",)}


def test_a_v3_schema_gives_required_widgets_before_optional_ones() -> None:
    loader = learned(("v3.py", V3))["StyleLoaderV3"]
    assert loader.widgets == ("style", "strength")
    assert dict(loader.model_inputs) == {"style": ("style_models",)}


def test_wrappers_and_subclasses_of_core_loaders_take_the_core_inputs() -> None:
    found = learned(("wrap.py", WRAPPERS))
    assert {name: found[name].wraps for name in found} == {
        "UNETLoaderWrapped": "UNETLoader",
        "CLIPLoaderWrapped": "CLIPLoader",
        "SubclassLoader": "VAELoader",
        "SuperLoader": "CheckpointLoaderSimple",
        "ConfigLoader": "VAELoader",
    }
    table = loader_table(found.values())
    unet = table.spec("UNETLoaderWrapped")
    assert unet is not None and dict(unet.model_inputs) == {"unet_name": "diffusion_models"}
    assert unet.origin == "learned"
    super_loader = table.spec("SuperLoader")
    assert super_loader is not None and super_loader.model_inputs == {"ckpt_name": "checkpoints"}


def test_classes_and_mappings_join_across_the_files_of_a_pack() -> None:
    definition = CLASSIC.replace(
        'NODE_CLASS_MAPPINGS = {"My Checkpoint Loader": MyCheckpointLoader}', ""
    )
    init = (
        "from .nodes import MyCheckpointLoader\n"
        'NODE_CLASS_MAPPINGS = {"Joined": MyCheckpointLoader}\n'
    )
    assert "Joined" in learned(("nodes.py", definition), ("__init__.py", init))


def test_a_file_that_does_not_parse_is_that_files_problem_only() -> None:
    loaders, problems = learn_loaders([("bad.py", BROKEN.encode()), ("nodes.py", CLASSIC.encode())])
    assert [loader.node_type for loader in loaders] == ["My Checkpoint Loader"]
    assert len(problems) == 1 and problems[0].startswith("bad.py:")


def test_bounds_stop_reading_instead_of_running_away() -> None:
    deep = "x = " + "[" * 5000 + "]" * 5000 + "\nNODE_CLASS_MAPPINGS = {}\n"
    huge = b"# INPUT_TYPES\n" + b"#" * (3 * 1024 * 1024)
    loaders, problems = learn_loaders([("deep.py", deep.encode()), ("huge.py", huge)])
    assert loaders == ()
    assert len(problems) == 2


def test_learned_loaders_survive_a_json_round_trip() -> None:
    for loader in learned(("nodes.py", BOUND_NAMES)).values():
        assert LearnedLoader.from_json(loader.to_json()) == loader


def test_learned_gguf_folders_place_files_in_the_folder_they_share() -> None:
    table = LoaderTable(learned=learned(("nodes.py", BOUND_NAMES)), bundled={})
    spec = table.spec("ClipListLoader")
    assert spec is not None and spec.model_inputs == {"clip_name": "text_encoders"}


def test_inputs_added_in_a_counted_loop_keep_their_order_and_folders() -> None:
    found = learned(("stack.py", LOOPS))
    stack = found["Stack Loader"]
    assert stack.widgets == (
        "mode",
        "count",
        *("lora_1", "weight_1", "lora_2", "weight_2", "lora_3", "weight_3"),
    )
    assert dict(stack.model_inputs) == {f"lora_{n}": ("loras",) for n in (1, 2, 3)}
    picker = found["PickerLoader"]
    assert picker.widgets == ("seed", "unet_0", "unet_1")
    assert dict(picker.model_inputs) == {
        "unet_0": ("diffusion_models",),
        "unet_1": ("diffusion_models",),
    }


def test_helpers_get_their_arguments_and_attributes_set_in_input_types_are_followed() -> None:
    found = learned(("helpers.py", HELPERS))
    assert dict(found["PatchLoader"].model_inputs) == {
        "patch": ("inpaint",),
        "base": ("text_encoders",),
    }
    assert dict(found["NamedList"].model_inputs) == {"vae": ("vae",)}


def test_a_combo_listing_loras_only_to_insert_a_tag_loads_no_file() -> None:
    wildcard = learned(("helpers.py", HELPERS))["WildcardText"]
    assert wildcard.widgets == ("text", "Select to add LoRA")
    assert wildcard.model_inputs == () and wildcard.wraps is None
    spec = loader_table([wildcard]).spec("WildcardText")
    assert spec is not None and spec.model_inputs == {}


def test_a_subclass_of_another_packs_mapping_entry_wraps_that_node_type() -> None:
    borrowed = learned(("borrowed.py", BORROWED))["BorrowedLoader"]
    assert borrowed.wraps == "Efficient Loader"
    spec = loader_table([borrowed]).spec("BorrowedLoader")
    assert spec is not None and spec.model_inputs["ckpt_name"] == "checkpoints"


def test_helpers_defined_in_another_file_of_the_pack_give_their_folders() -> None:
    found = learned(("nodes.py", CROSS_FILE_NODES), ("utils.py", CROSS_FILE_UTILS))
    assert dict(found["MotionLoader"].model_inputs) == {
        "motion": ("animatediff_models",),
        "upscaler": ("upscale_models",),
        "either": ("vae",),
    }


def test_a_helper_name_two_files_define_with_different_folders_gives_none() -> None:
    found = learned(
        ("nodes.py", CROSS_FILE_NODES),
        ("other.py", CROSS_FILE_OTHER),
        ("utils.py", CROSS_FILE_UTILS),
    )
    assert "either" not in dict(found["MotionLoader"].model_inputs)
    assert found["MotionLoader"].widgets == ("motion", "upscaler", "either")


def test_helpers_calling_helpers_many_times_are_read_within_a_step_bound() -> None:
    # Each helper returns the lists of all helpers before it: following every call, as
    # deep as names may be followed, would take hours; the step bound stops it.
    lines = ["import folder_paths", "def h0():", '    return folder_paths.get_filename_list("vae")']
    for level in range(1, 60):
        calls = ", ".join(f"*h{below}()" for below in range(level))
        lines += [f"def h{level}():", f"    return [{calls}]"]
    lines += [
        "class Deep:",
        "    @classmethod",
        "    def INPUT_TYPES(s):",
        '        return {"required": {"vae": (h59(),)}}',
        'NODE_CLASS_MAPPINGS = {"Deep": Deep}',
    ]
    loaders, problems = learn_loaders([("deep.py", "\n".join(lines).encode())])
    assert [loader.node_type for loader in loaders] == ["Deep"]
    assert dict(loaders[0].model_inputs) == {"vae": ("vae",)}
    assert problems == ()


def test_a_pack_is_read_for_whether_it_changes_the_sampler_lists_in_any_of_its_files() -> None:
    from watchman.comfy.loader_source import MAX_FILE_BYTES, read_pack

    node = b'class N:\n    pass\nNODE_CLASS_MAPPINGS = {"N": N}\n'
    adds = b'import comfy.samplers\ncomfy.samplers.KSAMPLER_NAMES.append("mine")\n'
    reads = b"import comfy.samplers\nNAMES = comfy.samplers.KSampler.SAMPLERS + ['x']\n"
    assert not read_pack([("nodes.py", node)]).changes_sampler_lists
    assert not read_pack([("nodes.py", node), ("util.py", reads)]).changes_sampler_lists
    # A file naming only the module, not a list, is read too.
    by_name = b"import comfy.samplers\ngetattr(comfy.samplers, which).append('x')\n"
    assert read_pack([("nodes.py", node), ("patch.py", by_name)]).changes_sampler_lists
    replaced = b"from comfy import samplers\nimport comfy\ncomfy.samplers = mine\n"
    assert read_pack([("nodes.py", node), ("patch.py", replaced)]).changes_sampler_lists
    # In a file without nodes (a pack's __init__), and in a node file itself.
    assert read_pack([("nodes.py", node), ("__init__.py", adds)]).changes_sampler_lists
    assert read_pack([("nodes.py", node + adds)]).changes_sampler_lists
    # A file left unread for a bound that names the lists may change them.
    huge = adds + b"#" * MAX_FILE_BYTES
    assert read_pack([("nodes.py", node), ("big.py", huge)]).changes_sampler_lists
    assert not read_pack(
        [("nodes.py", node), ("big.py", b"#" * (MAX_FILE_BYTES + 1))]
    ).changes_sampler_lists


def test_a_file_this_python_cannot_parse_that_names_the_lists_may_change_them() -> None:
    from watchman.comfy.loader_source import read_pack

    node = b'class N:\n    pass\nNODE_CLASS_MAPPINGS = {"N": N}\n'
    newer = (
        b'print(f"{d["a"]}")\nimport comfy.samplers\ncomfy.samplers.KSAMPLER_NAMES.append("x")\n'
    )
    broken_plain = b'print(f"{d["a"]}")\n'
    # Python 3.12 reads that f-string, an older one does not: either way it counts.
    assert read_pack([("nodes.py", node), ("init.py", newer)]).changes_sampler_lists
    assert read_pack([("nodes.py", node + newer)]).changes_sampler_lists
    assert not read_pack([("nodes.py", node), ("init.py", broken_plain)]).changes_sampler_lists


def test_a_pack_over_its_source_bound_is_judged_by_the_files_left_unread_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchman.comfy import loader_source

    monkeypatch.setattr(loader_source, "MAX_PACK_BYTES", 200)
    reads = b"import comfy.samplers\nNAMES = comfy.samplers.KSampler.SAMPLERS + ['x']\n"
    padding = b"#" * 150 + b"\n"
    files = [("a.py", reads), ("b.py", padding), ("c.py", b"x = 1\n")]
    assert not loader_source.read_pack(files).changes_sampler_lists  # a.py was read
    adds = b"import comfy.samplers\ncomfy.samplers.KSAMPLER_NAMES.append('x')\n"
    files = [("a.py", reads), ("b.py", padding), ("c.py", adds)]
    assert loader_source.read_pack(files).changes_sampler_lists  # c.py was not
