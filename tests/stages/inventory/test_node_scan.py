"""The scan of a ComfyUI tree into its node inventory: core classes and every custom node
pack, statically, and the inventory it gives."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from watchman.comfy import pack_files
from watchman.comfy.pack_node_types import DeclaringModules, pack_node_types
from watchman.errors import StateError
from watchman.stages.inventory import node_scan
from watchman.stages.inventory.node_scan import scan_node_inventory
from watchman.stages.inventory.nodes import CACHE_SCHEMA_VERSION, NodeInventory, NodePack

SHA = "a" * 40


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def mapping(*names: str) -> str:
    return "NODE_CLASS_MAPPINGS = {" + ", ".join(f'"{n}": object' for n in names) + "}\n"


def core_only(tmp_path: Path) -> Path:
    """A ComfyUI tree whose core has one node type and no pack yet."""
    root = tmp_path / "ComfyUI"
    write(root / "nodes.py", mapping("KSampler"))
    return root


@pytest.fixture
def comfyui(tmp_path: Path) -> Path:
    """A small ComfyUI tree covering each kind of pack and each core location."""
    root = tmp_path / "ComfyUI"
    write(root / "nodes.py", mapping("KSampler", "CheckpointLoaderSimple"))
    write(root / "comfy_extras" / "nodes_latent.py", mapping("LatentAdd"))
    write(
        root / "comfy_extras" / "nodes_v3.py",
        'def define_schema():\n    return io.Schema(node_id="EmptyHunyuanLatentVideo")\n',
    )
    write(root / "comfy_extras" / "deep" / "not_loaded.py", mapping("NotCore"))
    write(root / "comfy_api_nodes" / "apis" / "nodes_api.py", mapping("OpenAIDalle3"))
    custom = root / "custom_nodes"
    pack = custom / "ComfyUI-Impact-Pack"
    write(pack / "__init__.py", "from .modules.impact import NODE_CLASS_MAPPINGS\n")
    write(pack / "modules" / "impact" / "__init__.py", mapping("SAMLoader", "FaceDetailer"))
    write(pack / "tests" / "test_nodes.py", mapping("TestOnly"))
    write(pack / ".venv" / "lib" / "x.py", mapping("VenvOnly"))
    write(pack / "node_modules" / "y.py", mapping("JsOnly"))
    write(pack / "pyproject.toml", '[project]\nname = "comfyui-impact-pack"\nversion = "8.1"\n')
    git = pack / ".git"
    write(git / "HEAD", "ref: refs/heads/main\n")
    write(git / "refs" / "heads" / "main", SHA + "\n")
    write(git / "config", '[remote "origin"]\n\turl = https://github.com/ltdrdata/Impact.git\n')
    write(custom / "single_file_pack.py", mapping("SingleNode"))
    write(custom / "old_pack.disabled" / "__init__.py", mapping("FaceDetailer", "OldNode"))
    write(custom / "legacy.py.disabled", mapping("LegacyFileNode"))
    write(custom / ".disabled" / "managed@1_0" / "nodes.py", mapping("ManagedDisabled"))
    write(custom / ".hidden" / "__init__.py", mapping("HiddenNode"))
    write(custom / "__pycache__" / "x.py", mapping("CacheNode"))
    write(custom / "example_node.py.example", mapping("ExampleNode"))
    write(custom / "README.md", "not a pack")
    return root


def test_core_classes_come_from_nodes_py_extras_and_api_nodes(comfyui: Path) -> None:
    inventory = scan_node_inventory(comfyui)
    assert inventory.core_nodes == {
        "KSampler",
        "CheckpointLoaderSimple",
        "LatentAdd",
        "EmptyHunyuanLatentVideo",
        "OpenAIDalle3",
    }


def test_every_pack_is_found_with_its_kind_and_enabled_state(comfyui: Path) -> None:
    inventory = scan_node_inventory(comfyui)
    found = {(p.name, p.kind, p.enabled) for p in inventory.packs}
    assert found == {
        ("ComfyUI-Impact-Pack", "folder", True),
        ("single_file_pack", "file", True),
        ("old_pack", "folder", False),
        ("legacy", "file", False),
        ("managed@1_0", "folder", False),
    }


def test_a_folder_pack_carries_git_version_and_classes_from_all_its_files(comfyui: Path) -> None:
    inventory = scan_node_inventory(comfyui)
    (impact,) = [p for p in inventory.packs if p.name == "ComfyUI-Impact-Pack"]
    assert impact.git_remote == "https://github.com/ltdrdata/Impact.git"
    assert impact.git_commit == SHA
    assert impact.version == "8.1"
    assert impact.node_classes == ("FaceDetailer", "SAMLoader")
    assert impact.path == str(comfyui / "custom_nodes" / "ComfyUI-Impact-Pack")


def test_only_core_and_enabled_packs_count_as_installed(comfyui: Path) -> None:
    classes = scan_node_inventory(comfyui).enabled_classes()
    assert {"KSampler", "SAMLoader", "SingleNode"} <= classes
    assert not classes & {"OldNode", "LegacyFileNode", "ManagedDisabled", "TestOnly"}
    assert not classes & {"VenvOnly", "JsOnly", "HiddenNode", "CacheNode", "ExampleNode"}


def test_packs_defining_a_class_include_disabled_ones(comfyui: Path) -> None:
    inventory = scan_node_inventory(comfyui)
    defining = inventory.packs_defining("FaceDetailer")
    assert {(p.name, p.enabled) for p in defining} == {
        ("ComfyUI-Impact-Pack", True),
        ("old_pack", False),
    }
    assert [p.name for p in inventory.packs_defining("OldNode")] == ["old_pack"]
    assert inventory.packs_defining("Nowhere") == ()


def test_the_cache_document_round_trips_and_is_stable(comfyui: Path) -> None:
    first = scan_node_inventory(comfyui)
    document = first.to_cache_document()
    assert document["schema_version"] == CACHE_SCHEMA_VERSION
    assert document["core_node_count"] == 5
    assert document["core_nodes"] == sorted(first.core_nodes)
    assert scan_node_inventory(comfyui).to_cache_document() == document
    assert NodeInventory.from_cache_document(document) == first


def test_a_foreign_or_malformed_cache_document_is_a_state_error() -> None:
    with pytest.raises(StateError):
        NodeInventory.from_cache_document({"schema_version": 99, "packs": []})
    with pytest.raises(StateError):
        NodeInventory.from_cache_document({"schema_version": 1, "core_nodes": [], "packs": [{}]})


def _count_pack_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the node scan parses from now on, in order (the list fills as it reads)."""
    parsed: list[str] = []

    def counting(
        sources: list[tuple[str, bytes]], indexed: DeclaringModules | None = None
    ) -> frozenset[str]:
        parsed.extend(path for path, _ in sources)
        return pack_node_types(sources, indexed)

    monkeypatch.setattr(node_scan, "pack_node_types", counting)
    return parsed


def test_unchanged_packs_are_not_parsed_again(
    comfyui: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = scan_node_inventory(comfyui)
    parsed = _count_pack_reads(monkeypatch)
    assert scan_node_inventory(comfyui, previous) == previous
    assert parsed == []

    changed = comfyui / "custom_nodes" / "single_file_pack.py"
    changed.write_text(mapping("SingleNode", "AddedNode"))
    os.utime(changed, ns=(1, 1))
    again = scan_node_inventory(comfyui, previous)
    assert parsed == [changed.name]
    assert "AddedNode" in again.enabled_classes()


def test_a_missing_custom_nodes_folder_gives_core_only(tmp_path: Path) -> None:
    write(tmp_path / "nodes.py", mapping("KSampler"))
    inventory = scan_node_inventory(tmp_path)
    assert inventory.core_nodes == {"KSampler"}
    assert inventory.packs == ()


def test_a_broken_file_or_pyproject_does_not_stop_the_scan(tmp_path: Path) -> None:
    pack = tmp_path / "custom_nodes" / "broken"
    write(pack / "bad.py", "NODE_CLASS_MAPPINGS = {\n")
    write(pack / "good.py", mapping("Good"))
    write(pack / "pyproject.toml", "[project\nversion = 1")
    (only,) = scan_node_inventory(tmp_path).packs
    assert only.node_classes == ("Good",)
    assert only.version is None


def test_a_pyproject_nesting_past_the_toml_readers_stack_costs_only_the_version(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "custom_nodes" / "deep"
    write(pack / "__init__.py", mapping("Deep"))
    write(pack / "pyproject.toml", "[project]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (only,) = scan_node_inventory(tmp_path).packs
    assert only.node_classes == ("Deep",)
    assert only.version is None


def test_a_pack_with_too_many_files_is_read_up_to_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_files, "MAX_PYTHON_FILES", 2)
    pack = tmp_path / "custom_nodes" / "big"
    for index in range(4):
        write(pack / f"f{index}.py", mapping(f"Node{index}"))
    monkeypatch.setattr(pack_files, "MAX_SCRIPTS", 1)
    write(pack / "web" / "a.js", 'registerNodeType("FromA", A);\n')
    write(pack / "web" / "b.js", 'registerNodeType("FromB", B);\n')
    (only,) = scan_node_inventory(tmp_path).packs
    assert only.node_classes == ("Node0", "Node1")
    assert only.frontend_nodes == ("FromA",)


def test_a_node_pack_is_plain_frozen_data() -> None:
    pack = NodePack("p", "/p", "file", True, None, None, None, ("A",))
    with pytest.raises(AttributeError):
        pack.name = "q"  # type: ignore[misc]


@pytest.mark.parametrize(
    "failure",
    [
        PermissionError(13, "Permission denied"),  # an unreadable pack
        RecursionError("maximum recursion depth exceeded"),  # the last-resort boundary
    ],
    ids=["unreadable", "unexpected"],
)
def test_a_pack_that_cannot_be_read_costs_that_pack_only(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
) -> None:
    write(tmp_path / "custom_nodes" / "good" / "__init__.py", mapping("Good"))
    write(tmp_path / "custom_nodes" / "failing" / "__init__.py", mapping("Failing"))
    real_metadata = node_scan.read_git_metadata

    def failing(path: Path) -> object:
        if path.name == "failing":
            raise failure
        return real_metadata(path)

    monkeypatch.setattr(node_scan, "read_git_metadata", failing)
    inventory = scan_node_inventory(tmp_path)
    assert [pack.name for pack in inventory.packs] == ["good"]
    assert "Skipping node pack" in caplog.text and "failing" in caplog.text


# --- loaders learned from the installed packs' source ---------------------------------


@pytest.fixture
def packs_with_loaders(tmp_path: Path) -> Path:
    """A ComfyUI tree whose packs declare loaders in every source style; each file raises
    if imported, so recognising them proves they were only read."""
    from tests.comfy.loader_pack_sources import BOUND_NAMES, BROKEN, CLASSIC, V3, WRAPPERS

    root = tmp_path / "ComfyUI"
    write(root / "nodes.py", mapping("CheckpointLoaderSimple"))
    custom = root / "custom_nodes"
    write(custom / "classic-pack" / "__init__.py", CLASSIC)
    write(custom / "bound-pack" / "nodes" / "loaders.py", BOUND_NAMES)
    write(custom / "bound-pack" / "nodes" / "broken.py", BROKEN)
    write(custom / "v3-pack" / "__init__.py", V3)
    write(custom / "wrapper-pack.py", WRAPPERS)
    return root


def test_installed_packs_loaders_are_learned_without_importing_them(
    packs_with_loaders: Path,
) -> None:
    from watchman.comfy.loader_lookup import loader_table

    inventory = scan_node_inventory(packs_with_loaders)
    learned = {loader.node_type for loader in inventory.learned_loaders()}
    assert {
        "My Checkpoint Loader",
        "Bound Loader",
        "ClipListLoader",
        "FolderPathLoader",
        "StyleLoaderV3",
        "UNETLoaderWrapped",
        "SuperLoader",
    } <= learned
    table = loader_table(inventory.learned_loaders())
    for node_type, input_name, folder in [
        ("My Checkpoint Loader", "ckpt", "checkpoints"),
        ("Bound Loader", "unet", "diffusion_models"),
        ("StyleLoaderV3", "style", "style_models"),
        ("UNETLoaderWrapped", "unet_name", "diffusion_models"),
    ]:
        spec = table.spec(node_type)
        assert spec is not None and spec.origin == "learned", node_type
        assert spec.model_inputs[input_name] == folder


def test_a_pack_cannot_replace_a_core_loader_as_comfyui_skips_the_core_names(
    tmp_path: Path,
) -> None:
    from watchman.comfy.loader_lookup import loader_table

    loader = """
import folder_paths

class Loader:
    @classmethod
    def INPUT_TYPES(s):
        return {{"required": {{"name": (folder_paths.get_filename_list("{folder}"),)}}}}

NODE_CLASS_MAPPINGS = {{"SharedNameLoader": Loader}}
"""
    root = tmp_path / "ComfyUI"
    write(root / "nodes.py", loader.format(folder="upscale_models"))
    write(root / "custom_nodes" / "copycat" / "__init__.py", loader.format(folder="loras"))
    table = loader_table(scan_node_inventory(root).learned_loaders())
    spec = table.spec("SharedNameLoader")
    assert spec is not None and spec.model_inputs["name"] == "upscale_models"


def test_a_workflow_using_an_installed_packs_loader_gets_its_folder(
    packs_with_loaders: Path,
) -> None:
    from watchman.comfy.loader_lookup import loader_table
    from watchman.comfy.workflow import parse_workflow_json

    table = loader_table(scan_node_inventory(packs_with_loaders).learned_loaders())
    ui = {
        "nodes": [
            {
                "id": 1,
                "type": "My Checkpoint Loader",
                "widgets_values": ["a.safetensors", 1.0, "b.safetensors"],
            },
            {"id": 2, "type": "StyleLoaderV3", "widgets_values": ["s.safetensors", 0.5]},
        ]
    }
    parsed = parse_workflow_json(ui, "ui.json", None, table)
    assert [(ref.value, ref.folder) for ref in parsed.model_refs] == [
        ("a.safetensors", "checkpoints"),
        ("b.safetensors", "loras"),
        ("s.safetensors", "style_models"),
    ]
    # Without the install the same nodes are unknown: their values keep no folder.
    unknown = parse_workflow_json(ui, "ui.json")
    assert {ref.folder for ref in unknown.model_refs} == {None}


def test_learned_loaders_are_cached_and_an_unchanged_pack_is_not_read_again(
    packs_with_loaders: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = scan_node_inventory(packs_with_loaders)
    document = first.to_cache_document()
    cached = NodeInventory.from_cache_document(document)
    assert cached.learned_loaders() == first.learned_loaders()

    def must_not_read(files: object) -> object:
        raise AssertionError("an unchanged pack was read again")

    monkeypatch.setattr(node_scan, "read_pack", must_not_read)
    again = scan_node_inventory(packs_with_loaders, cached)
    assert again.learned_loaders() == first.learned_loaders()


def test_a_cache_written_before_loaders_were_learned_makes_packs_be_read_again(
    packs_with_loaders: Path,
) -> None:
    document = scan_node_inventory(packs_with_loaders).to_cache_document()
    for pack in document["packs"]:
        del pack["loaders"]
    del document["core_loaders"]
    old = NodeInventory.from_cache_document(document)
    assert old.learned_loaders() == ()
    assert scan_node_inventory(packs_with_loaders, old).learned_loaders() != ()


def test_packs_read_by_another_version_of_the_readers_are_read_again(
    comfyui: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = scan_node_inventory(comfyui)
    parsed = _count_pack_reads(monkeypatch)
    monkeypatch.setattr(node_scan, "reader_code", lambda: "a newer reader")
    again = scan_node_inventory(comfyui, previous)
    assert parsed and again.core_signature != previous.core_signature


def test_a_stop_ends_the_node_pack_scan_before_the_next_pack(comfyui: Path) -> None:
    import threading

    from watchman.errors import CycleInterrupted

    stop = threading.Event()
    stop.set()
    with pytest.raises(CycleInterrupted, match="while reading the node pack"):
        scan_node_inventory(comfyui, None, stop)
    assert scan_node_inventory(comfyui, None, threading.Event()).packs  # unset: a full scan


# comfy_mtb's way: a node file lists its classes in __nodes__, named at import time.
MTB_FACESWAP = (
    'raise RuntimeError("never imported")\nimport folder_paths\n'
    "class MTB_LoadFaceSwapModel:\n    @classmethod\n    def INPUT_TYPES(cls):\n"
    '        return {"required": {"m": (folder_paths.get_filename_list("insightface"),)}}\n'
    "__nodes__ = [MTB_LoadFaceSwapModel]\n"
)


def test_a_pack_naming_its_node_types_at_import_is_known_by_its_remote(tmp_path: Path) -> None:
    # comfy_mtb registers nodes/*.py's __nodes__ under labels built at import time: the
    # node types and the loader come from the mapping its rule builds.
    pack = tmp_path / "custom_nodes" / "comfy_mtb"
    write(pack / "nodes" / "faceswap.py", MTB_FACESWAP)
    write(pack / "__init__.py", "NODE_CLASS_MAPPINGS = {}\n")
    write(pack / ".git" / "HEAD", SHA + "\n")
    write(
        pack / ".git" / "config",
        '[remote "origin"]\n\turl = git@github.com:melMass/comfy_mtb.git\n',
    )
    (mtb,) = scan_node_inventory(tmp_path).packs
    assert mtb.node_classes == ("Load Face Swap Model (mtb)",)
    assert [(loader.node_type, loader.model_inputs) for loader in mtb.loaders] == [
        ("Load Face Swap Model (mtb)", (("m", ("insightface",)),))
    ]
    # Another remote: the same files name no node type.
    write(pack / ".git" / "config", '[remote "origin"]\n\turl = https://example.com/x.git\n')
    (other,) = scan_node_inventory(tmp_path).packs
    assert other.node_classes == () and other.loaders == ()


def test_a_pack_naming_its_node_types_at_import_is_known_without_git_by_its_init(
    tmp_path: Path,
) -> None:
    # comfy_mtb installed from a zip or the registry: no .git, but its own __init__.py
    # holds the code that names its node types.
    pack = tmp_path / "custom_nodes" / "comfy-mtb"
    write(pack / "nodes" / "faceswap.py", MTB_FACESWAP)
    write(
        pack / "__init__.py",
        'raise RuntimeError("never imported")\nNODE_CLASS_MAPPINGS = {}\n'
        "for node_class in __nodes__:\n"
        '    NODE_CLASS_MAPPINGS[f"{get_label(node_class.__name__)} (mtb)"] = node_class\n',
    )
    (mtb,) = scan_node_inventory(tmp_path).packs
    assert mtb.git_remote is None
    assert mtb.node_classes == ("Load Face Swap Model (mtb)",)
    assert [(loader.node_type, loader.model_inputs) for loader in mtb.loaders] == [
        ("Load Face Swap Model (mtb)", (("m", ("insightface",)),))
    ]


def test_a_pack_spreading_its_mappings_over_modules_provides_every_node_type(
    tmp_path: Path,
) -> None:
    # Before, only mappings written in one file counted: an installed ComfyUI_essentials,
    # SeargeSDXL, KJNodes, rgthree or LoRA Manager left its workflows "missing nodes".
    root = core_only(tmp_path)
    pack = root / "custom_nodes" / "ComfyUI_essentials"
    write(
        pack / "__init__.py",
        "from .image import IMAGE_MAPS\nNODE_CLASS_MAPPINGS = {}\n"
        "NODE_CLASS_MAPPINGS.update(IMAGE_MAPS)\n",
    )
    write(pack / "image.py", 'IMAGE_MAPS = {"GetImageSize+": object}\n')
    named = root / "custom_nodes" / "rgthree-comfy"
    write(
        named / "__init__.py",
        "from .py.seed import Seed\nNODE_CLASS_MAPPINGS = {Seed.NAME: Seed}\n",
    )
    write(
        named / "py" / "seed.py",
        'def get_name(n):\n    return f"{n} (rgthree)"\n'
        "class Seed:\n    NAME = get_name('Seed')\n",
    )
    classes = scan_node_inventory(root).enabled_classes()
    assert {"GetImageSize+", "Seed (rgthree)"} <= classes


def test_nodes_a_pack_registers_in_its_frontend_alone_are_installed_with_it(
    tmp_path: Path,
) -> None:
    root = core_only(tmp_path)
    kj = root / "custom_nodes" / "ComfyUI-KJNodes"
    write(kj / "__init__.py", mapping("ImageResizeKJ") + 'WEB_DIRECTORY = "./web"\n')
    write(kj / "web" / "js" / "setget.js", 'LiteGraph.registerNodeType("SetNode", S);\n')
    write(kj / "node_modules" / "lib.js", 'LiteGraph.registerNodeType("FromALibrary", L);\n')
    rgthree = root / "custom_nodes" / "rgthree-comfy.disabled"
    write(rgthree / "__init__.py", mapping("Seed (rgthree)"))
    inventory = scan_node_inventory(root)
    packs = {pack.name: pack for pack in inventory.packs}
    # Its scripts say SetNode; GetNode is known for the pack (the same folder name).
    assert packs["ComfyUI-KJNodes"].frontend_nodes == ("GetNode", "SetNode")
    assert {"SetNode", "GetNode", "ImageResizeKJ"} <= inventory.enabled_classes()
    assert inventory.frontend_classes() == {"GetNode", "SetNode"}
    # A disabled pack provides none, but is found as the one to enable.
    assert "Fast Groups Bypasser (rgthree)" not in inventory.enabled_classes()
    [owner] = inventory.packs_defining("Fast Groups Bypasser (rgthree)")
    assert owner.name == "rgthree-comfy"


def test_a_cache_written_before_frontend_nodes_were_read_reads_each_pack_again(
    comfyui: Path,
) -> None:
    document = scan_node_inventory(comfyui).to_cache_document()
    for pack in document["packs"]:
        del pack["frontend_nodes"]
    assert all(pack.signature == "" for pack in NodeInventory.from_cache_document(document).packs)


def test_node_types_registered_when_another_pack_is_there_follow_that_pack(tmp_path: Path) -> None:
    # MultiGPU wraps GGUF's loaders only when a ComfyUI-GGUF folder is in custom_nodes.
    root = core_only(tmp_path)
    multigpu = root / "custom_nodes" / "ComfyUI-MultiGPU"
    write(
        multigpu / "__init__.py",
        mapping("DeviceSelectorMultiGPU")
        + 'gguf_nodes = {"UnetLoaderGGUFMultiGPU": A}\n'
        + 'register_and_count(["ComfyUI-GGUF", "comfyui-gguf"], gguf_nodes)\n'
        + "def _wan():\n    from .wan import X\n    return {'WanVideoModelLoaderMultiGPU': X}\n"
        + 'register_and_count(["ComfyUI-WanVideoWrapper"], _wan)\n',
    )
    without = scan_node_inventory(root).enabled_classes()
    assert "DeviceSelectorMultiGPU" in without
    assert "UnetLoaderGGUFMultiGPU" not in without
    write(root / "custom_nodes" / "comfyui_gguf" / "__init__.py", mapping("UnetLoaderGGUF"))
    (root / "custom_nodes" / "ComfyUI-WanVideoWrapper.disabled").mkdir()
    inventory = scan_node_inventory(root)
    # Compared as MultiGPU compares: case, dashes and underscores aside; a disabled
    # folder's name is another name.
    assert "UnetLoaderGGUFMultiGPU" in inventory.enabled_classes()
    assert "WanVideoModelLoaderMultiGPU" not in inventory.enabled_classes()
    again = NodeInventory.from_cache_document(inventory.to_cache_document())
    assert again.enabled_classes() == inventory.enabled_classes()


def test_packs_in_every_custom_nodes_folder_comfyui_loads_from_are_installed(
    tmp_path: Path,
) -> None:
    root = core_only(tmp_path)
    write(root / "custom_nodes" / "Own" / "__init__.py", mapping("OwnNode"))
    shared = tmp_path / "shared_nodes"
    write(shared / "Shared" / "__init__.py", mapping("SharedNode"))
    write(shared / "Off.disabled" / "__init__.py", mapping("OffNode"))
    inventory = scan_node_inventory(root, custom_nodes=[root / "custom_nodes", shared])
    assert {"OwnNode", "SharedNode"} <= inventory.enabled_classes()
    assert "OffNode" not in inventory.enabled_classes()
    assert [pack.name for pack in inventory.packs_defining("OffNode")] == ["Off"]
    assert "SharedNode" not in scan_node_inventory(root).enabled_classes()


def _registry_install(root: Path, tracking: bool = True, git: bool = False) -> NodePack:
    pack = root / "custom_nodes" / "ComfyUI-KJNodes"
    write(pack / "__init__.py", mapping("ImageResizeKJ"))
    write(pack / "pyproject.toml", '[project]\nname = "ComfyUI-KJNodes "\nversion = "1.1.0"\n')
    if tracking:
        write(pack / ".tracking", "__init__.py\npyproject.toml\n")
    if git:
        write(pack / ".git" / "HEAD", SHA + "\n")
    [only] = scan_node_inventory(root).packs
    return only


def test_a_registry_install_is_known_by_its_tracking_file_and_project_name(
    tmp_path: Path,
) -> None:
    # As ComfyUI-Manager tells one (read_cnr_info): the project's name, trimmed and lower.
    installed = _registry_install(core_only(tmp_path))
    assert (installed.registry_id, installed.version) == ("comfyui-kjnodes", "1.1.0")
    assert installed.git_checkout is False
    document = NodeInventory(frozenset(), (installed,)).to_cache_document()
    [back] = NodeInventory.from_cache_document({**document, "core_nodes": []}).packs
    assert back.registry_id == "comfyui-kjnodes"


def test_a_copy_or_a_checkout_is_no_registry_install(tmp_path: Path) -> None:
    copy = _registry_install(core_only(tmp_path / "a"), tracking=False)
    assert copy.registry_id is None and copy.git_checkout is False
    checkout = _registry_install(core_only(tmp_path / "b"), git=True)
    assert checkout.registry_id is None and checkout.git_checkout is True


SAMPLERS_PY = """
KSAMPLER_NAMES = ["euler", "dpmpp_2m"]
SCHEDULER_NAMES = ["simple", "karras"]
SAMPLER_NAMES = KSAMPLER_NAMES + ["ddim"]

class KSampler:
    SCHEDULERS = SCHEDULER_NAMES
    SAMPLERS = SAMPLER_NAMES
"""

ADDS_A_SCHEDULER = """
from comfy.samplers import SCHEDULER_NAMES
SCHEDULER_NAMES.append("beta57")
"""


def test_the_cores_sampler_lists_are_read_from_comfy_samplers_py(tmp_path: Path) -> None:
    root = core_only(tmp_path)
    write(root / "comfy" / "samplers.py", SAMPLERS_PY)
    lists = scan_node_inventory(root).checked_sampler_lists()
    assert lists["KSampler.SAMPLERS"] == {"euler", "dpmpp_2m", "ddim"}
    assert lists["KSampler.SCHEDULERS"] == {"simple", "karras"}
    assert scan_node_inventory(core_only(tmp_path / "bare")).checked_sampler_lists() == {}


def test_an_enabled_pack_that_changes_the_lists_makes_them_unknown_a_disabled_one_not(
    tmp_path: Path,
) -> None:
    root = core_only(tmp_path)
    write(root / "comfy" / "samplers.py", SAMPLERS_PY)
    # A pack's __init__ without a node of its own still runs at import.
    write(root / "custom_nodes" / "RES4LYF" / "__init__.py", ADDS_A_SCHEDULER)
    write(root / "custom_nodes" / "RES4LYF" / "nodes.py", mapping("ClownSampler"))
    inventory = scan_node_inventory(root)
    assert [p.changes_sampler_lists for p in inventory.packs] == [True]
    assert inventory.checked_sampler_lists() == {}
    (root / "custom_nodes" / ".disabled").mkdir()
    (root / "custom_nodes" / "RES4LYF").rename(root / "custom_nodes" / ".disabled" / "RES4LYF")
    assert scan_node_inventory(root).checked_sampler_lists()["KSampler.SCHEDULERS"] == {
        "simple",
        "karras",
    }


def test_the_sampler_lists_and_the_packs_changing_them_survive_the_cache(tmp_path: Path) -> None:
    root = core_only(tmp_path)
    write(root / "comfy" / "samplers.py", SAMPLERS_PY)
    write(root / "custom_nodes" / "adds.py", ADDS_A_SCHEDULER + mapping("Adds"))
    first = scan_node_inventory(root)
    cached = NodeInventory.from_cache_document(first.to_cache_document())
    assert cached == first
    assert cached.packs[0].changes_sampler_lists
    # A cache from before the lists were read reads the core and the packs again.
    document = first.to_cache_document()
    del document["sampler_lists"]
    del document["packs"][0]["changes_sampler_lists"]
    older = NodeInventory.from_cache_document(document)
    assert older.core_signature == "" and older.packs[0].signature == ""


def test_an_edit_of_the_samplers_file_makes_the_core_be_read_again(tmp_path: Path) -> None:
    root = core_only(tmp_path)
    samplers = write(root / "comfy" / "samplers.py", SAMPLERS_PY)
    first = scan_node_inventory(root)
    samplers.write_text(SAMPLERS_PY.replace('"karras"]', '"karras", "beta"]'))
    os.utime(samplers, ns=(1, 1))  # a stamp unlike the first one's, however fast the disk
    again = scan_node_inventory(root, first)
    assert again.checked_sampler_lists()["SCHEDULER_NAMES"] == {"simple", "karras", "beta"}


def test_a_pack_file_too_large_to_read_that_names_the_lists_may_change_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_scan, "MAX_LOADER_FILE_BYTES", 1_000)
    monkeypatch.setattr(node_scan, "SCAN_CHUNK_BYTES", 64)  # the name cut between chunks
    root = core_only(tmp_path)
    write(root / "comfy" / "samplers.py", SAMPLERS_PY)
    pack = root / "custom_nodes" / "Big"
    write(pack / "nodes.py", mapping("BigNode"))
    write(pack / "vendored.py", "# padding\n" * 200 + "print(1)\n")
    assert scan_node_inventory(root).checked_sampler_lists()
    write(pack / "vendored.py", "# padding\n" * 195 + "x = 1; " + ADDS_A_SCHEDULER)
    assert scan_node_inventory(root).checked_sampler_lists() == {}


def test_a_pack_patching_a_core_class_leaves_that_node_types_list_unchecked(
    tmp_path: Path,
) -> None:
    root = core_only(tmp_path)
    (root / "nodes.py").write_text(
        "class CLIPLoader:\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(s):\n"
        '        return {"required": {"type": (["sd3", "flux"],)}}\n'
        'NODE_CLASS_MAPPINGS = {"CLIPLoader": CLIPLoader}\n'
    )
    assert [loader.layout != () for loader in scan_node_inventory(root).learned_loaders()] == [True]
    write(
        root / "custom_nodes" / "more_types.py",
        "import nodes\nnodes.CLIPLoader.INPUT_TYPES = classmethod(more_types)\n"
        + mapping("MoreTypes"),
    )
    inventory = scan_node_inventory(root)
    assert "CLIPLoader" in inventory.packs[0].patched_classes
    assert [loader.layout for loader in inventory.learned_loaders()] == [()]
    cached = NodeInventory.from_cache_document(inventory.to_cache_document())
    assert cached.packs[0].patched_classes == inventory.packs[0].patched_classes


def test_each_file_is_parsed_once_for_all_its_readings(
    comfyui: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loader, node-type and socket readings share one parse of each file: the first
    # inventory of a real install is mostly parsing.
    parsed: list[tuple[str, str]] = []
    parse = ast.parse

    def counting(source: str | bytes, filename: str = "<unknown>", **options: object) -> object:
        text = source.decode() if isinstance(source, bytes) else source
        parsed.append((filename, text))  # packs share relative names (__init__.py)
        return parse(source, filename, **options)  # type: ignore[call-overload]

    monkeypatch.setattr(ast, "parse", counting)
    inventory = scan_node_inventory(comfyui, None)
    monkeypatch.undo()  # pytest's own reporting parses too
    assert {"KSampler", "LatentAdd", "EmptyHunyuanLatentVideo"} <= inventory.core_nodes
    assert {"SAMLoader", "FaceDetailer"} <= inventory.enabled_classes()
    assert parsed, "the scan parsed nothing: the count would prove nothing"
    assert sorted(parsed) == sorted(set(parsed))
