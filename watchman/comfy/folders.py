"""ComfyUI's model folder types, as ``folder_paths.py`` declares them, written as data.

The table follows ``folder_names_and_paths`` in ComfyUI's ``folder_paths.py`` (commit
a125cd84, 2025-10-12): every folder type with its default directories, relative to the
ComfyUI root, and the file extensions its loaders list. Three groups of entries:

- ``core``: present in that commit (the reference is ``comfyui/folder_paths.json`` in the
  shared corpus; a test keeps this table equal to it).
- ``core_unverified``: folders newer ComfyUI versions add (``latent_upscale_models``,
  ``frame_interpolation``, ...). Scanning a folder that a given install lacks costs one
  failed ``scandir``, while leaving one out would report its models as missing.
- ``pack``: folders that widely installed custom node packs register at import time.
  ComfyUI-GGUF registers ``unet_gguf`` and ``clip_gguf`` (extension ``.gguf``) over the
  same directories as ``diffusion_models`` and ``text_encoders``; without them a ``.gguf``
  file in ``models/unet`` would be invisible, since ``.gguf`` is not a core extension.
  calcuis' gguf adds ``vae_gguf`` and ``encoder_gguf`` the same way; its types that list
  exactly another type's files (``model_gguf``) are :data:`RELISTED_AS` that type.

Lookups go through :func:`canonical_folder`, which maps ComfyUI's legacy names
(``clip`` -> ``text_encoders``, ``unet`` -> ``diffusion_models``) as ``map_legacy()`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

logger = logging.getLogger(__name__)

SUPPORTED_PT_EXTENSIONS: frozenset[str] = frozenset(
    {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
)
"""``supported_pt_extensions`` of ``folder_paths.py``."""

PACK_MODEL_EXTENSIONS: frozenset[str] = frozenset(
    {".gguf", ".onnx", ".engine", ".trt", ".torchscript"}
)
"""Model formats that custom node packs load (GGUF, ONNX, TensorRT engines, TorchScript)."""

MODEL_EXTENSIONS: frozenset[str] = SUPPORTED_PT_EXTENSIONS | PACK_MODEL_EXTENSIONS
"""Every extension that marks a file name as a model file, lower-case with the dot."""

LEGACY_ALIASES: Mapping[str, str] = MappingProxyType(
    {"clip": "text_encoders", "unet": "diffusion_models"}
)
"""``map_legacy()``: old folder type names still accepted everywhere ComfyUI looks one up."""

NON_MODEL_FOLDERS: frozenset[str] = frozenset({"custom_nodes", "download_model_base"})
"""Keys ComfyUI registers as folder types that never hold models (never scanned).

``download_model_base`` is written by ComfyUI-Desktop into its extra_models_config.yaml;
ComfyUI registers it like any key, but no loader lists it.
"""


@dataclass(frozen=True)
class FolderType:
    """One ComfyUI folder type.

    ``extensions`` are lower-case with the dot; an empty set accepts any file and the set
    ``{""}`` accepts only files without an extension (ComfyUI's ``classifiers``).
    ``holds_folders`` marks types whose entries are folders only (``diffusers``): no plain
    file is listed. ``entry_folders`` says which sub-folders a loader of the type offers as
    values (each a downloaded model repository): None, none; ``""``, every first-level
    sub-folder (``os.listdir`` filtered by ``isdir``: Florence2's ``models/LLM``); a file
    name, every folder at any depth holding that file (``os.walk`` for a marker: the
    diffusers' ``model_index.json``, ELLA's T5 ``config.json``).
    ``shares_dirs_with`` names the types whose search directories (extra paths included)
    this one also searches, as ComfyUI-GGUF does for ``unet_gguf``.
    ``implied_extensions`` are tried, in order, after a name that is not found as written:
    prompts name embeddings without extension (``embedding:name``) and ComfyUI's
    ``load_embed`` then tries ``.safetensors``, ``.pt`` and ``.bin``.
    """

    name: str
    default_dirs: tuple[str, ...]
    extensions: frozenset[str]
    holds_folders: bool = False
    entry_folders: str | None = None
    holds_models: bool = True
    shares_dirs_with: tuple[str, ...] = ()
    origin: str = "core"
    implied_extensions: tuple[str, ...] = ()

    def accepts_file(self, file_name: str) -> bool:
        """Return whether a file named ``file_name`` is listed by this folder type.

        Mirrors ``filter_files_extensions()``: the last extension, lower-cased, must be in
        ``extensions``, or ``extensions`` is empty. Folder types that hold folders accept
        no plain file.
        """
        if self.holds_folders:
            return False
        if not self.extensions:
            return True
        return file_extension(file_name) in self.extensions


def file_extension(file_name: str) -> str:
    """Return the last extension of ``file_name``, lower-cased with its dot, or ``""``.

    Same answer as ``os.path.splitext(name)[1].lower()`` (leading dots do not start an
    extension), without its cost: the inventory asks this once per file on disk.
    """
    stem = file_name.lstrip(".")
    dot = stem.rfind(".")
    return stem[dot:].lower() if dot != -1 else ""


def _models(name: str, *dirs: str, origin: str = "core") -> FolderType:
    # Most folder types are "models/<name>" with the supported PyTorch extensions.
    return FolderType(
        name=name,
        default_dirs=dirs or (f"models/{name}",),
        extensions=SUPPORTED_PT_EXTENSIONS,
        origin=origin,
    )


_TABLE: tuple[FolderType, ...] = (
    _models("checkpoints"),
    FolderType("configs", ("models/configs",), frozenset({".yaml"})),
    # LoRA tags (<lora:name:0.8>) name a LoRA without extension, as LoRA Manager and
    # A1111-style prompts write it; the file is name.safetensors (or .pt, ...).
    FolderType(
        "loras",
        ("models/loras",),
        SUPPORTED_PT_EXTENSIONS,
        implied_extensions=(".safetensors", ".pt", ".ckpt", ".bin", ".pth"),
    ),
    _models("vae"),
    _models("text_encoders", "models/text_encoders", "models/clip"),
    _models("diffusion_models", "models/unet", "models/diffusion_models"),
    _models("clip_vision"),
    _models("style_models"),
    FolderType(
        "embeddings",
        ("models/embeddings",),
        SUPPORTED_PT_EXTENSIONS,
        implied_extensions=(".safetensors", ".pt", ".bin"),
    ),
    FolderType(
        "diffusers",
        ("models/diffusers",),
        frozenset(),
        holds_folders=True,
        entry_folders="model_index.json",
    ),
    _models("vae_approx"),
    _models("controlnet", "models/controlnet", "models/t2i_adapter"),
    _models("gligen"),
    _models("upscale_models"),
    FolderType("custom_nodes", ("custom_nodes",), frozenset(), holds_models=False),
    _models("hypernetworks"),
    _models("photomaker"),
    FolderType("classifiers", ("models/classifiers",), frozenset({""})),
    _models("model_patches"),
    _models("audio_encoders"),
    # Newer ComfyUI versions (see the module docstring).
    _models("latent_upscale_models", origin="core_unverified"),
    _models("background_removal", origin="core_unverified"),
    _models("frame_interpolation", origin="core_unverified"),
    _models("geometry_estimation", origin="core_unverified"),
    _models("optical_flow", origin="core_unverified"),
    _models("detection", origin="core_unverified"),
    # ComfyUI-GGUF (city96): update_folder_names_and_paths("unet_gguf", ["diffusion_models",
    # "unet"]) and ("clip_gguf", ["text_encoders", "clip"]), both with {".gguf"}.
    FolderType(
        "unet_gguf",
        ("models/unet", "models/diffusion_models"),
        frozenset({".gguf"}),
        shares_dirs_with=("diffusion_models",),
        origin="pack:ComfyUI-GGUF",
    ),
    FolderType(
        "clip_gguf",
        ("models/text_encoders", "models/clip"),
        frozenset({".gguf"}),
        shares_dirs_with=("text_encoders",),
        origin="pack:ComfyUI-GGUF",
    ),
    # gguf (calcuis): get_folder_names_and_paths("vae_gguf", ["vae"]) and
    # ("encoder_gguf", ["audio_encoders"]) re-list those folders' directories for
    # {".gguf"}, as ComfyUI-GGUF's types do (its model_gguf and select_gguf are
    # RELISTED_AS below; its clip_gguf is ComfyUI-GGUF's).
    FolderType(
        "vae_gguf",
        ("models/vae",),
        frozenset({".gguf"}),
        shares_dirs_with=("vae",),
        origin="pack:gguf",
    ),
    FolderType(
        "encoder_gguf",
        ("models/audio_encoders",),
        frozenset({".gguf"}),
        shares_dirs_with=("audio_encoders",),
        origin="pack:gguf",
    ),
    # ComfyUI-Impact-Subpack (ltdrdata): add_folder_path_and_extensions("ultralytics_bbox",
    # [models/ultralytics/bbox]) and ("ultralytics_segm", [models/ultralytics/segm]), with
    # the core extensions; ReActor and face parsing list them too. (``ultralytics`` itself,
    # models/ultralytics, is found as any pack folder is.)
    FolderType(
        "ultralytics_bbox",
        ("models/ultralytics/bbox",),
        SUPPORTED_PT_EXTENSIONS,
        origin="pack:ComfyUI-Impact-Subpack",
    ),
    FolderType(
        "ultralytics_segm",
        ("models/ultralytics/segm",),
        SUPPORTED_PT_EXTENSIONS,
        origin="pack:ComfyUI-Impact-Subpack",
    ),
    # ReActor (Gourieff) lists the face models it saves, models/reactor/faces/*.safetensors,
    # by globbing that directory; it registers no folder type for it.
    FolderType(
        "reactor_faces",
        ("models/reactor/faces",),
        frozenset({".safetensors"}),
        origin="pack:comfyui-reactor-node",
    ),
    # Folders of downloaded repositories that loaders list by name (``entry_folders``).
    # ComfyUI-Florence2 (kijai): add_model_folder_path("LLM", models/LLM); its
    # Florence2ModelLoader lists the sub-folders of get_folder_paths("LLM") (iterdir
    # filtered by is_dir). Other packs keep model files there too (GGUF captioners).
    FolderType(
        "llm",
        ("models/LLM",),
        MODEL_EXTENSIONS,
        entry_folders="",
        origin="pack:ComfyUI-Florence2",
    ),
    # ComfyUI-ELLA (TencentQQGYLab): folder_names_and_paths["ella_encoder"] =
    # models/ella_encoder; T5TextEncoderLoader lists the folders, at any depth, that
    # hold a config.json (os.walk), each a T5 encoder saved by transformers.
    FolderType(
        "ella_encoder",
        ("models/ella_encoder",),
        SUPPORTED_PT_EXTENSIONS,
        entry_folders="config.json",
        origin="pack:ComfyUI-ELLA",
    ),
    # ComfyUI_ACE-Step (billwuhao): ACEModelLoader lists the sub-folders of
    # models/TTS/ACE-Step-v1-3.5B (os.listdir filtered by isdir), the parts of the
    # ACE-Step checkpoint (music_dcae_f8c8, music_vocoder, ace_step_transformer, umt5-base).
    FolderType(
        "ace_step",
        ("models/TTS/ACE-Step-v1-3.5B",),
        frozenset(),
        holds_folders=True,
        entry_folders="",
        origin="pack:ComfyUI_ACE-Step",
    ),
    # ComfyUI_ACE-Step (billwuhao): ACELoRALoader offers every entry of the checkpoint's
    # loras folder (os.listdir, dot-names left out) and loads <entry>/
    # pytorch_lora_weights.safetensors, so the entries it can load are folders.
    FolderType(
        "ace_step_loras",
        ("models/TTS/ACE-Step-v1-3.5B/loras",),
        frozenset(),
        holds_folders=True,
        entry_folders="",
        origin="pack:ComfyUI_ACE-Step",
    ),
    # comfyui-inpaint-nodes (Acly): _add_folder_path("inpaint", [".pt", ".pth",
    # ".safetensors", ".patch"]); Fooocus' inpaint patch is a ``.patch`` file.
    FolderType(
        "inpaint",
        ("models/inpaint",),
        frozenset({".pt", ".pth", ".safetensors", ".patch"}),
        origin="pack:comfyui-inpaint-nodes",
    ),
)

FOLDER_TYPES: Mapping[str, FolderType] = MappingProxyType({kind.name: kind for kind in _TABLE})
"""Every known folder type by canonical name, in ``folder_paths.py`` order."""

RELISTED_AS: Mapping[str, str] = MappingProxyType(
    {
        # gguf (calcuis) registers these over the very directories and extensions of
        # another type: model_gguf and select_gguf (its converter's input) over the
        # diffusion models' directories with {".gguf"}, select_safetensors over them with
        # {".safetensors"}.
        "model_gguf": "unet_gguf",
        "select_gguf": "unet_gguf",
        "select_safetensors": "diffusion_models",
    }
)
"""Pack folder types that list exactly the files of another type, by name: a loader
reading one reads the other's files, so they are not scanned twice."""


def canonical_folder(name: str) -> str:
    """Return the canonical folder type name for ``name``.

    Takes any folder name as written in a workflow, a YAML file or a config; trims it,
    lower-cases it and maps legacy names (``clip``, ``unet``). Unknown names come back
    lower-cased, so pack folders (``ipadapter``) compare the same way. Never raises.
    """
    lowered = name.strip().lower()
    return LEGACY_ALIASES.get(lowered, lowered)


def listed_folder(name: str) -> str:
    """Return the folder type whose files a loader listing the type ``name`` offers.

    :func:`canonical_folder`, then :data:`RELISTED_AS` (``model_gguf`` lists the files of
    ``unet_gguf``). Never raises.
    """
    canonical = canonical_folder(name)
    return RELISTED_AS.get(canonical, canonical)


def target_dir(name: str) -> str:
    """Return the directory, relative to the ComfyUI root, a file of folder type ``name``
    goes to: ``models/<name>`` when the type uses it (or is not known), else the type's
    first directory (``reactor_faces`` -> ``models/reactor/faces``). Never raises."""
    canonical = canonical_folder(name)
    kind = FOLDER_TYPES.get(canonical)
    usual = f"models/{canonical}"
    if kind is None or not kind.default_dirs or usual in kind.default_dirs:
        return usual
    return kind.default_dirs[0]


def folder_type(name: str) -> FolderType | None:
    """Return the known folder type for ``name`` (canonicalised), or None when unknown."""
    return FOLDER_TYPES.get(canonical_folder(name))


def pack_folder_type(name: str, directory: str) -> FolderType:
    """Return a folder type for a folder a custom node pack registers (``ipadapter``, ...).

    Takes the folder name and its directory relative to the ComfyUI root. Packs register
    such folders with ComfyUI's model extensions, so any :data:`MODEL_EXTENSIONS` file
    counts. A known name returns the table's entry instead.
    """
    known = folder_type(name)
    if known is not None:
        return known
    return FolderType(
        name=canonical_folder(name),
        default_dirs=(directory,),
        extensions=MODEL_EXTENSIONS,
        origin="pack",
    )


def is_model_file_name(name: str) -> bool:
    """Return whether ``name`` (a file name or a relative path, any separator) ends in a
    model extension: the core PyTorch ones or a pack format such as ``.gguf`` or ``.onnx``.
    Compares case-insensitively; ``x.torchscript.pt`` counts through its last extension.
    """
    base_name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return file_extension(base_name) in MODEL_EXTENSIONS


def folders_using_dir(relative_dir: str) -> tuple[str, ...]:
    """Return the folder types whose default directories include ``relative_dir``.

    Takes a directory relative to the ComfyUI root, e.g. ``models/t2i_adapter``, with
    either separator and any case; returns canonical names in table order (core types
    first), e.g. ``("controlnet",)``. Empty when no type uses that directory.
    """
    wanted = relative_dir.replace("\\", "/").strip("/").lower()
    return tuple(
        kind.name
        for kind in _TABLE
        if kind.holds_models and any(wanted == directory.lower() for directory in kind.default_dirs)
    )
