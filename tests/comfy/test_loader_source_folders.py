"""Which folder a pack's listing names: pack folder types over core directories, and dicts
of classes that are not node mappings. Each source raises if imported."""

from __future__ import annotations

from pathlib import Path

from watchman.comfy.folders import FOLDER_TYPES, folders_using_dir, listed_folder, target_dir
from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders
from watchman.comfy.model_key import ModelKey
from watchman.stages.inventory.model_scan import scan_models

from .loader_pack_sources import RAISE

# calcuis' gguf style: its own folder types registered over the core directories, lists
# built up in static methods, and a dict of model options holding an ops class.
GGUF_STYLE = (
    RAISE
    + """
import comfy.ops
import folder_paths

def register(key, targets=[]):
    orig, _ = folder_paths.folder_names_and_paths.get(targets[0], ([], {}))
    folder_paths.folder_names_and_paths[key] = orig, {'.gguf'}
register('model_gguf', ['diffusion_models', 'unet'])
register('vae_gguf', ['vae'])

class GGMLOps(comfy.ops.manual_cast):
    pass

class LoaderGGUF:
    @classmethod
    def INPUT_TYPES(s):
        names = [x for x in folder_paths.get_filename_list('model_gguf')]
        return {'required': {'gguf_name': (names,)}}
    def load(self, gguf_name):
        return load_state(model_options={'custom_operations': GGMLOps})

class VaeGGUF:
    @staticmethod
    def vae_list():
        vaes = []
        vaes += folder_paths.get_filename_list('vae')
        vaes += folder_paths.get_filename_list('vae_gguf')
        for v in folder_paths.get_filename_list('vae_approx'):
            if v.startswith('taesd_decoder.'):
                vaes.append('taesd')
        return vaes
    @classmethod
    def INPUT_TYPES(s):
        return {'required': {'vae_name': (s.vae_list(),)}}

NODE_CLASS_MAPPINGS = {"LoaderGGUF": LoaderGGUF, "VaeGGUF": VaeGGUF}
"""
)


def learned(*sources: tuple[str, str]) -> dict[str, LearnedLoader]:
    loaders, _ = learn_loaders((name, text.encode()) for name, text in sources)
    return {loader.node_type: loader for loader in loaders}


def test_a_pack_type_listing_exactly_another_types_files_is_read_as_that_type() -> None:
    assert listed_folder("model_gguf") == "unet_gguf"
    assert listed_folder(" Select_Safetensors ") == "diffusion_models"
    assert listed_folder("clip") == "text_encoders"
    assert listed_folder("ipadapter") == "ipadapter"
    found = learned(("pig.py", GGUF_STYLE))
    assert dict(found["LoaderGGUF"].model_inputs) == {"gguf_name": ("unet_gguf",)}
    spec = loader_table(found.values()).spec("LoaderGGUF")
    assert spec is not None and spec.model_inputs == {"gguf_name": "diffusion_models"}


def test_gguf_vaes_and_audio_encoders_are_listed_beside_the_core_files() -> None:
    vae_gguf = FOLDER_TYPES["vae_gguf"]
    assert vae_gguf.shares_dirs_with == ("vae",)
    assert vae_gguf.accepts_file("ae-Q8_0.gguf") and not vae_gguf.accepts_file("ae.safetensors")
    assert folders_using_dir("models/vae") == ("vae", "vae_gguf")
    assert folders_using_dir("models/audio_encoders") == ("audio_encoders", "encoder_gguf")
    found = learned(("pig.py", GGUF_STYLE))
    assert dict(found["VaeGGUF"].model_inputs) == {"vae_name": ("vae", "vae_gguf")}
    spec = loader_table(found.values()).spec("VaeGGUF")
    assert spec is not None and spec.model_inputs == {"vae_name": "vae"}


def test_a_dict_of_model_options_holding_a_class_is_not_a_node_mapping() -> None:
    assert set(learned(("pig.py", GGUF_STYLE))) == {"LoaderGGUF", "VaeGGUF"}
    # Nor is a dict of a model's outputs holding a torch module of the pack.
    source = GGUF_STYLE.replace(
        "class GGMLOps(comfy.ops.manual_cast):", "class GGMLOps(nn.Module):"
    )
    assert set(learned(("pig.py", source))) == {"LoaderGGUF", "VaeGGUF"}


def test_impact_subpacks_detector_folders_are_its_subdirectories_of_ultralytics() -> None:
    assert FOLDER_TYPES["ultralytics_bbox"].default_dirs == ("models/ultralytics/bbox",)
    assert folders_using_dir("models/ultralytics/segm") == ("ultralytics_segm",)
    assert FOLDER_TYPES["ultralytics_segm"].accepts_file("person_yolov8m-seg.pt")


def test_the_inventory_finds_gguf_vaes_and_subpack_detectors_where_the_packs_list_them(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ComfyUI"
    for relative in ("models/vae/ae-Q8_0.gguf", "models/ultralytics/bbox/face_yolov8m.pt"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"x")
    inventory = scan_models(root, environ={}, home_dir=tmp_path / "home")
    assert inventory.locate(ModelKey.of("vae", "ae-Q8_0.gguf")).state == "present"
    assert inventory.locate(ModelKey.of("ultralytics_bbox", "face_yolov8m.pt")).state == "present"
    # Impact's own loaders name the same file through the parent folder.
    assert inventory.locate(ModelKey.of("ultralytics", "bbox/face_yolov8m.pt")).state == "present"


# ReActor's style: helpers glob directories under models_dir (a helper handed in as an
# argument, a loop over folder names in another file) and filter by extension.
DIRECTORY_NODES = (
    RAISE
    + """
import glob, os
import folder_paths
from .swapper import get_models

models_dir = folder_paths.models_dir
FACES = os.path.join(os.path.join(models_dir, "reactor"), "faces")

def get_facemodels():
    return [x for x in glob.glob(os.path.join(FACES, "*")) if x.endswith(".safetensors")]

def get_restorers():
    models = glob.glob(os.path.join(models_dir, "facerestore_models/*"))
    return [x for x in models if x.endswith(".pth") or x.endswith(".onnx")]

def get_model_names(get_models):
    names = []
    for x in get_models():
        names.append(os.path.basename(x))
    return ["none"] + sorted(names)

def model_names():
    return {os.path.basename(x): x for x in get_models()}

class Swap:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {
            "swap_model": (list(model_names().keys()),),
            "face_restore_model": (get_model_names(get_restorers),),
        }}

class LoadFace:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"face_model": (get_model_names(get_facemodels),)}}

class TransparentBackground:
    @classmethod
    def INPUT_TYPES(s):
        where = os.path.join(folder_paths.models_dir, "transparent-background")
        found = glob.glob(where + "/*.pth")
        return {"required": {"model": ([os.path.basename(x) for x in found],)}}

class PathLister:
    @classmethod
    def INPUT_TYPES(s):
        root = Path(folder_paths.models_dir) / "clip"
        return {"required": {"te": ([p.name for p in root.glob("*.safetensors")],)}}

class RepoFolders:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": (os.listdir(os.path.join(folder_paths.models_dir, "LLM")),)}}

NODE_CLASS_MAPPINGS = {
    "Swap": Swap,
    "LoadFace": LoadFace,
    "TransparentBackground": TransparentBackground,
    "PathLister": PathLister,
    "RepoFolders": RepoFolders,
}
"""
)

DIRECTORY_HELPERS = (
    RAISE
    + """
import glob, os
import folder_paths

def get_models():
    found = []
    for folder in ["insightface", "reswapper"]:
        pattern = os.path.join(folder_paths.models_dir, folder + "/*")
        found.extend(x for x in glob.glob(pattern) if x.endswith(".onnx"))
    return found
"""
)


def test_listings_of_directories_under_models_dir_give_their_folders() -> None:
    found = learned(("nodes.py", DIRECTORY_NODES), ("swapper.py", DIRECTORY_HELPERS))
    assert dict(found["Swap"].model_inputs) == {
        "face_restore_model": ("facerestore_models",),
        "swap_model": ("insightface", "reswapper"),
    }
    # A deeper directory counts through the folder type that uses it.
    assert dict(found["LoadFace"].model_inputs) == {"face_model": ("reactor_faces",)}
    assert FOLDER_TYPES["reactor_faces"].default_dirs == ("models/reactor/faces",)
    assert dict(found["TransparentBackground"].model_inputs) == {
        "model": ("transparent-background",)
    }
    # models/clip is the core text_encoders type.
    assert dict(found["PathLister"].model_inputs) == {"te": ("text_encoders",)}


def test_a_listing_that_names_no_model_extension_lists_no_model_files() -> None:
    # Florence2-style: the folders of downloaded repositories under models/LLM.
    found = learned(("nodes.py", DIRECTORY_NODES), ("swapper.py", DIRECTORY_HELPERS))
    assert "RepoFolders" not in found


def test_files_of_a_pack_type_go_to_its_own_directory_not_one_named_after_it() -> None:
    assert target_dir("reactor_faces") == "models/reactor/faces"
    assert target_dir("ultralytics_bbox") == "models/ultralytics/bbox"
    # Types using models/<name>, and types nothing knows, keep it.
    assert target_dir("diffusion_models") == "models/diffusion_models"
    assert target_dir("clip") == "models/text_encoders"
    assert target_dir("ipadapter") == "models/ipadapter"
