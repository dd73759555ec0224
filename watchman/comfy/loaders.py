"""The loader table: which node inputs name model files, and in which ComfyUI folder.

The table is data. For each known node type it holds the ordered widget names (enough to
map the positions of a UI workflow's ``widgets_values``) and which of those inputs name a
model file, with the folder type the node reads it from. A node type in the table with no
model inputs is known to take no file from the models folders (its strings are presets,
Hugging Face repo ids or files the pack downloads into its own folder), so the generic
"string with a model extension" rule is not applied to it.

Widget names come from the nodes' ``INPUT_TYPES`` / ``define_schema`` (ComfyUI at the
commit of ``../shared/corpus/comfyui``, and the packs' node definitions), cross-checked
against the widget names real workflows record in ``inputs[].widget.name``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from watchman.comfy.folders import canonical_folder, folder_type, is_model_file_name
from watchman.comfy.loader_source import LearnedLoader

logger = logging.getLogger(__name__)

CONTROL_AFTER_GENERATE = "control_after_generate"
"""Pseudo widget the frontend adds after seed-like INT widgets (fixed/increment/...)."""

CONTROL_VALUES: frozenset[str] = frozenset({"fixed", "increment", "decrement", "randomize"})

PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {"none", "baked vae", "[none]", "null", "undefined", "", "disabled"}
)
"""Values loaders offer in their file lists that name no file (compared lower-case)."""


@dataclass(frozen=True)
class LoaderSpec:
    """What the table knows about one node type.

    ``widgets``: widget input names in the order the frontend stores their values
    (``control_after_generate`` where the frontend adds one). ``model_inputs``: input name
    to canonical folder type. ``folder_entries``: model inputs whose values are folders,
    not files (diffusers-style), so they carry no extension.
    """

    widgets: tuple[str, ...]
    model_inputs: Mapping[str, str]
    folder_entries: frozenset[str] = frozenset()
    origin: str = "table"
    """Where the spec comes from: ``table`` (written here), ``learned`` (read from an
    installed pack's source), ``bundled`` (the generated table of packs' sources)."""


def _spec(widgets: str, folder_entries: Iterable[str] = (), **model_inputs: str) -> LoaderSpec:
    return LoaderSpec(
        widgets=tuple(widgets.split()),
        model_inputs=MappingProxyType(dict(model_inputs)),
        folder_entries=frozenset(folder_entries),
    )


def _numbered(template: str, count: int) -> str:
    """Expand ``"lora_name_{n} lora_wt_{n}"`` for n = 1..count (stacker nodes)."""
    return " ".join(template.format(n=n) for n in range(1, count + 1))


_NO_FILES = _spec("")

_LORA_STACKER_WIDGETS = "input_mode lora_count " + _numbered(
    "lora_name_{n} lora_wt_{n} model_str_{n} clip_str_{n}", 50
)
_CR_LORA_STACK_WIDGETS = _numbered("switch_{n} lora_name_{n} model_weight_{n} clip_weight_{n}", 3)

LOADERS: Mapping[str, LoaderSpec] = MappingProxyType(
    {
        # --- ComfyUI core: nodes.py
        "CheckpointLoaderSimple": _spec("ckpt_name", ckpt_name="checkpoints"),
        "CheckpointLoader": _spec(
            "config_name ckpt_name", config_name="configs", ckpt_name="checkpoints"
        ),
        "DiffusersLoader": _spec("model_path", ("model_path",), model_path="diffusers"),
        "unCLIPCheckpointLoader": _spec("ckpt_name", ckpt_name="checkpoints"),
        "LoraLoader": _spec("lora_name strength_model strength_clip", lora_name="loras"),
        "LoraLoaderModelOnly": _spec("lora_name strength_model", lora_name="loras"),
        "VAELoader": _spec("vae_name", vae_name="vae"),
        "CLIPLoader": _spec("clip_name type device", clip_name="text_encoders"),
        "DualCLIPLoader": _spec(
            "clip_name1 clip_name2 type device",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
        ),
        "UNETLoader": _spec("unet_name weight_dtype", unet_name="diffusion_models"),
        "ControlNetLoader": _spec("control_net_name", control_net_name="controlnet"),
        "DiffControlNetLoader": _spec("control_net_name", control_net_name="controlnet"),
        "StyleModelLoader": _spec("style_model_name", style_model_name="style_models"),
        "CLIPVisionLoader": _spec("clip_name", clip_name="clip_vision"),
        "GLIGENLoader": _spec("gligen_name", gligen_name="gligen"),
        # --- comfy_extras
        "ImageOnlyCheckpointLoader": _spec("ckpt_name", ckpt_name="checkpoints"),
        "HypernetworkLoader": _spec(
            "hypernetwork_name strength", hypernetwork_name="hypernetworks"
        ),
        "UpscaleModelLoader": _spec("model_name", model_name="upscale_models"),
        "PhotoMakerLoader": _spec("photomaker_model_name", photomaker_model_name="photomaker"),
        "TripleCLIPLoader": _spec(
            "clip_name1 clip_name2 clip_name3",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
            clip_name3="text_encoders",
        ),
        "QuadrupleCLIPLoader": _spec(
            "clip_name1 clip_name2 clip_name3 clip_name4",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
            clip_name3="text_encoders",
            clip_name4="text_encoders",
        ),
        "ModelPatchLoader": _spec("name", name="model_patches"),
        "AudioEncoderLoader": _spec("audio_encoder_name", audio_encoder_name="audio_encoders"),
        "CreateHookLora": _spec("lora_name strength_model strength_clip", lora_name="loras"),
        "CreateHookLoraModelOnly": _spec("lora_name strength_model", lora_name="loras"),
        # A checkpoint applied as a LoRA-like hook (comfy_extras/nodes_hooks.py).
        "CreateHookModelAsLora": _spec(
            "ckpt_name strength_model strength_clip", ckpt_name="checkpoints"
        ),
        "CreateHookModelAsLoraModelOnly": _spec(
            "ckpt_name strength_model", ckpt_name="checkpoints"
        ),
        # --- newer core nodes (folders newer than the reference commit; see folders.py)
        "LatentUpscaleModelLoader": _spec("model_name", model_name="latent_upscale_models"),
        "LoraLoaderBypass": _spec("lora_name strength_model strength_clip", lora_name="loras"),
        "LoraLoaderBypassModelOnly": _spec("lora_name strength_model", lora_name="loras"),
        "LTXAVTextEncoderLoader": _spec(
            "text_encoder ckpt_name device", text_encoder="text_encoders", ckpt_name="checkpoints"
        ),
        "LTXVAudioVAELoader": _spec("ckpt_name", ckpt_name="checkpoints"),
        "FrameInterpolationModelLoader": _spec("model_name", model_name="frame_interpolation"),
        "OpticalFlowLoader": _spec("model_name", model_name="optical_flow"),
        "LoadBackgroundRemovalModel": _spec(
            "bg_removal_name", bg_removal_name="background_removal"
        ),
        "LoadMoGeModel": _spec("model_name", model_name="geometry_estimation"),
        "LoadDA3Model": _spec("model_name device", model_name="geometry_estimation"),
        # --- ComfyUI-GGUF (city96): unet_gguf / clip_gguf share the core folders
        "UnetLoaderGGUF": _spec("unet_name", unet_name="diffusion_models"),
        "UnetLoaderGGUFAdvanced": _spec(
            "unet_name dequant_dtype patch_dtype patch_on_device", unet_name="diffusion_models"
        ),
        "CLIPLoaderGGUF": _spec("clip_name type", clip_name="text_encoders"),
        "DualCLIPLoaderGGUF": _spec(
            "clip_name1 clip_name2 type",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
        ),
        "TripleCLIPLoaderGGUF": _spec(
            "clip_name1 clip_name2 clip_name3",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
            clip_name3="text_encoders",
        ),
        "QuadrupleCLIPLoaderGGUF": _spec(
            "clip_name1 clip_name2 clip_name3 clip_name4",
            clip_name1="text_encoders",
            clip_name2="text_encoders",
            clip_name3="text_encoders",
            clip_name4="text_encoders",
        ),
        # --- ComfyUI_IPAdapter_plus (presets of the unified loaders are not files)
        "IPAdapterModelLoader": _spec("ipadapter_file", ipadapter_file="ipadapter"),
        "IPAdapterUnifiedLoader": _NO_FILES,
        "IPAdapterUnifiedLoaderFaceID": _NO_FILES,
        "IPAdapterUnifiedLoaderCommunity": _NO_FILES,
        "IPAdapterInsightFaceLoader": _NO_FILES,
        # --- InstantX SD3.5 IP-Adapter
        "IPAdapterSD3Loader": _spec("ipadapter provider", ipadapter="ipadapter"),
        # --- AnimateDiff-Evolved
        "ADE_LoadAnimateDiffModel": _spec("model_name", model_name="animatediff_models"),
        "ADE_AnimateDiffLoaderGen1": _spec(
            "model_name beta_schedule", model_name="animatediff_models"
        ),
        "ADE_AnimateDiffLoaderWithContext": _spec(
            "model_name beta_schedule motion_scale apply_v2_models_properly",
            model_name="animatediff_models",
        ),
        "ADE_AnimateDiffLoaderV1Advanced": _spec("model_name", model_name="animatediff_models"),
        "AnimateDiffLoaderV1": _spec("model_name beta_schedule", model_name="animatediff_models"),
        "ADE_AnimateDiffLoRALoader": _spec("name strength", name="animatediff_motion_lora"),
        # --- Impact Pack / Impact Subpack
        "UltralyticsDetectorProvider": _spec("model_name", model_name="ultralytics"),
        "SAMLoader": _spec("model_name device_mode", model_name="sams"),
        "ONNXDetectorProvider": _spec("model_name", model_name="onnx"),
        # Their "Select to add LoRA/Wildcard" combos insert text; they load nothing.
        "ToDetailerPipe": _NO_FILES,
        "ToDetailerPipeSDXL": _NO_FILES,
        "ImpactWildcardEncode": _NO_FILES,
        "ImpactWildcardProcessor": _NO_FILES,
        # --- ComfyUI-WanVideoWrapper (kijai)
        "WanVideoModelLoader": _spec(
            "model base_precision quantization load_device attention_mode",
            model="diffusion_models",
        ),
        "WanVideoVAELoader": _spec("model_name precision", model_name="vae"),
        "WanVideoTinyVAELoader": _spec("model_name precision", model_name="vae_approx"),
        "LoadWanVideoT5TextEncoder": _spec(
            "model_name precision load_device quantization", model_name="text_encoders"
        ),
        "LoadWanVideoClipTextEncoder": _spec(
            "model_name precision load_device", model_name="clip_vision"
        ),
        "WanVideoLoraSelect": _spec("lora strength", lora="loras"),
        "WanVideoVACEModelSelect": _spec("vace_model", vace_model="diffusion_models"),
        # --- ComfyUI-HunyuanVideoWrapper (kijai); the text encoder node takes HF repo ids
        "HyVideoModelLoader": _spec(
            "model base_precision quantization load_device attention_mode",
            model="diffusion_models",
        ),
        "HyVideoVAELoader": _spec("model_name precision", model_name="vae"),
        "HyVideoLoraSelect": _spec("lora strength", lora="loras"),
        "DownloadAndLoadHyVideoTextEncoder": _NO_FILES,
        # --- ComfyUI-LTXVideo (Lightricks)
        "LTXVGemmaCLIPModelLoader": _spec(
            "gemma_path ltxv_path max_length",
            gemma_path="text_encoders",
            ltxv_path="checkpoints",
        ),
        # --- Efficiency nodes
        "Efficient Loader": _spec(
            "ckpt_name vae_name clip_skip lora_name lora_model_strength lora_clip_strength "
            "positive negative token_normalization weight_interpretation "
            "empty_latent_width empty_latent_height batch_size",
            ckpt_name="checkpoints",
            vae_name="vae",
            lora_name="loras",
        ),
        "Eff. Loader SDXL": _spec(
            "base_ckpt_name base_clip_skip refiner_ckpt_name refiner_clip_skip "
            "positive_ascore negative_ascore vae_name positive negative token_normalization "
            "weight_interpretation empty_latent_width empty_latent_height batch_size",
            base_ckpt_name="checkpoints",
            refiner_ckpt_name="checkpoints",
            vae_name="vae",
        ),
        "LoRA Stacker": _spec(
            _LORA_STACKER_WIDGETS, **{f"lora_name_{n}": "loras" for n in range(1, 51)}
        ),
        # --- Comfyroll
        "CR LoRA Stack": _spec(
            _CR_LORA_STACK_WIDGETS, **{f"lora_name_{n}": "loras" for n in range(1, 4)}
        ),
        "CR Load LoRA": _spec("switch lora_name strength_model strength_clip", lora_name="loras"),
        # --- ComfyUI-Lora-Manager
        "Checkpoint Loader (LoraManager)": _spec("ckpt_name", ckpt_name="checkpoints"),
        "Unet Loader (LoraManager)": _spec("unet_name weight_dtype", unet_name="diffusion_models"),
        # --- ComfyUI-nunchaku: the DiT "model_path" is a folder under diffusion_models
        "NunchakuFluxDiTLoader": _spec(
            "model_path cache_threshold attention cpu_offload device_id data_type i2f_mode",
            ("model_path",),
            model_path="diffusion_models",
        ),
        "NunchakuTextEncoderLoader": _spec(
            "model_type text_encoder1 text_encoder2 t5_min_length use_4bit_t5 int4_model",
            text_encoder1="text_encoders",
            text_encoder2="text_encoders",
        ),
        # --- ComfyUI-FluxTrainer (kijai)
        "FluxTrainModelSelect": _spec(
            "transformer vae clip_l t5 lora_path",
            transformer="diffusion_models",
            vae="vae",
            clip_l="text_encoders",
            t5="text_encoders",
        ),
        # --- x-flux-comfyui (XLabs)
        "LoadFluxControlNet": _spec(
            "model_name controlnet_path", controlnet_path="xlabs_controlnets"
        ),
        # --- MinusZone Kolors
        "MZ_KolorsUNETLoader": _spec("unet_name", unet_name="diffusion_models"),
        # --- ComfyUI-SUPIR (kijai)
        "SUPIR_model_loader_v2": _spec(
            "supir_model fp8_unet diffusion_dtype high_vram", supir_model="checkpoints"
        ),
        # --- ReActor
        "ReActorFaceSwap": _spec(
            "enabled swap_model facedetection face_restore_model face_restore_visibility "
            "codeformer_weight detect_gender_input detect_gender_source input_faces_index "
            "source_faces_index console_log_level",
            swap_model="insightface",
            face_restore_model="facerestore_models",
        ),
        "ReActorFaceBoost": _spec(
            "enabled boost_model interpolation visibility codeformer_weight "
            "restore_with_main_after",
            boost_model="facerestore_models",
        ),
        "ReActorMaskHelper": _spec(
            "bbox_model_name bbox_threshold bbox_dilation bbox_crop_factor bbox_drop_size "
            "sam_model_name sam_dilation sam_threshold bbox_expansion mask_hint_threshold "
            "mask_hint_use_negative morphology_operation morphology_distance blur_radius "
            "sigma_factor",
            bbox_model_name="ultralytics",
            sam_model_name="sams",
        ),
        # --- comfyui_controlnet_aux: annotator weights are downloaded by the pack into its
        # own ckpts folder on first use, never looked up in ComfyUI's models folders.
        "DWPreprocessor": _NO_FILES,
        "AnimalPosePreprocessor": _NO_FILES,
        "DownloadAndLoadDepthAnythingV2Model": _NO_FILES,
        "DensePosePreprocessor": _NO_FILES,
    }
)
"""Every known loader node type and what its inputs mean."""

_EMBEDDING_TOKEN = re.compile(r"(?<![\w:])embedding:([^\s,()\[\]{}<>|\"']+)", re.IGNORECASE)
_TRAILING_WEIGHT = re.compile(r":-?\d*\.?\d+$")


def loader_spec(node_type: str, table: LoaderTable | None = None) -> LoaderSpec | None:
    """Return the spec for ``node_type`` from ``table`` (default: the hand-written and the
    bundled tables), or None when nothing knows it."""
    return (table or default_table()).spec(node_type)


def is_plain_value(value: object) -> bool:
    """Return whether ``value`` could name a file: a one-line string that is not a URL."""
    if not isinstance(value, str) or not value.strip() or len(value) > 1024:
        return False
    if "\n" in value or "\r" in value:
        return False
    return "://" not in value and not value.lower().startswith(("http:", "https:", "www."))


def _has_extension(value: str) -> bool:
    base_name = value.replace("\\", "/").rstrip().rsplit("/", 1)[-1]
    return re.search(r"\.[A-Za-z0-9_]{1,16}$", base_name) is not None


def table_value_names_file(spec: LoaderSpec, input_name: str, value: object) -> bool:
    """Return whether ``value`` of ``input_name`` on a table node names a model file.

    Takes the node's spec, the input name and the value as written. A file needs an
    extension (so presets such as ``taesd`` or ``pixel_space`` are not files); inputs
    listed as folder entries accept a bare name. Placeholders (``None``, ``Baked VAE``)
    never name a file.
    """
    if input_name not in spec.model_inputs or not isinstance(value, str):
        return False
    return names_file(value, input_name in spec.folder_entries)


def generic_value_names_file(value: object) -> bool:
    """Return whether a value of a node the table does not know looks like a model file:
    a one-line, non-URL string ending in a model extension."""
    return is_plain_value(value) and is_model_file_name(str(value).strip())


def embedding_names(text: object) -> tuple[str, ...]:
    """Return the embedding names written as ``embedding:name`` tokens in prompt text.

    Takes any value; non-strings give nothing. A name runs to the next space, comma or
    bracket, as ComfyUI's tokenizer reads it; a trailing ``:1.2`` weight is not part of
    it. Names are returned exactly as written (no extension added), in order, unique.
    """
    if not isinstance(text, str) or "embedding:" not in text.lower():
        return ()
    names: dict[str, None] = {}  # ordered and unique: a list's `in` was quadratic
    for match in _EMBEDDING_TOKEN.finditer(text):
        name = _TRAILING_WEIGHT.sub("", match.group(1)).rstrip(".:;!?")
        if name and not name.startswith("/"):
            names[name] = None
    return tuple(names)


# --- specs learned from packs' source, and the generated table of them ---------------

BUNDLED_TABLE = "bundled_loaders.json"
"""The generated table in ``watchman/comfy/data`` (see ``tools/build_loader_table.py``)."""

MAX_WRAP_DEPTH = 8


def placement_folder(folder: str) -> str:
    """Return the folder type a file listed under ``folder`` is placed in.

    Takes a folder type as a pack names it. Types that only re-list another type's
    directories (ComfyUI-GGUF's ``unet_gguf`` over ``diffusion_models``) give that type,
    since it is where a file goes and where the inventory looks. Never raises.
    """
    canonical = canonical_folder(folder)
    known = folder_type(canonical)
    if known is not None and known.shares_dirs_with:
        return known.shares_dirs_with[0]
    return canonical


def learned_spec(loader: LearnedLoader, origin: str) -> LoaderSpec:
    """Return the LoaderSpec of a learned loader (without following ``wraps``): each model
    input reads from the placement folder of the first folder type it lists."""
    return LoaderSpec(
        widgets=loader.widgets,
        model_inputs=MappingProxyType(
            {name: placement_folder(folders[0]) for name, folders in loader.model_inputs if folders}
        ),
        origin=origin,
    )


@dataclass(frozen=True)
class LoaderTable:
    """Every source of loader specs, looked up in order of trust.

    The hand-written :data:`LOADERS` first (checked against real workflows' widget
    names), then specs learned from the installed packs' source, then the bundled table
    generated from packs' sources. A learned or bundled node that wraps another node type
    (MultiGPU's ``UNETLoaderMultiGPU`` around ``UNETLoader``) takes that type's inputs.
    """

    learned: Mapping[str, LearnedLoader]
    bundled: Mapping[str, LearnedLoader]

    def spec(self, node_type: str) -> LoaderSpec | None:
        """Return the spec for ``node_type``, or None when no source knows it."""
        return self._spec(node_type, 0)

    def _spec(self, node_type: str, depth: int) -> LoaderSpec | None:
        table = LOADERS.get(node_type)
        if table is not None:
            return table
        for origin, source in (("learned", self.learned), ("bundled", self.bundled)):
            loader = source.get(node_type)
            if loader is None:
                continue
            if loader.model_inputs or loader.wraps is None:
                return learned_spec(loader, origin)
            if depth < MAX_WRAP_DEPTH and loader.wraps != node_type:
                inner = self._spec(loader.wraps, depth + 1)
                if inner is not None:
                    # The wrapper's widgets are the wrapped node's plus its own (a device
                    # choice), which the frontend stores after them.
                    return LoaderSpec(
                        widgets=inner.widgets,
                        model_inputs=inner.model_inputs,
                        folder_entries=inner.folder_entries,
                        origin=origin,
                    )
        return None

    @property
    def digest(self) -> str:
        """A short digest of everything the table knows, for parse caches."""
        text = repr(
            (
                sorted(LOADERS.items()),
                sorted((k, v.to_json()) for k, v in self.learned.items()),
                sorted((k, v.to_json()) for k, v in self.bundled.items()),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def loader_table(learned: Iterable[LearnedLoader] = ()) -> LoaderTable:
    """Return the table for an install: the learned loaders (earlier ones win for a node
    type defined twice) over the bundled table."""
    known: dict[str, LearnedLoader] = {}
    for loader in learned:
        known.setdefault(loader.node_type, loader)
    return LoaderTable(learned=MappingProxyType(known), bundled=bundled_loaders())


@functools.cache
def bundled_loaders() -> Mapping[str, LearnedLoader]:
    """Return the bundled table's loaders by node type (read once).

    An absent or damaged table (a broken install) gives an empty mapping and a warning:
    the hand table and inference still work.
    """
    try:
        text = (resources.files("watchman.comfy") / "data" / BUNDLED_TABLE).read_text("utf-8")
        document = json.loads(text)
    except (OSError, ValueError) as error:
        logger.warning("The bundled loader table cannot be read (%s); it is not used.", error)
        return MappingProxyType({})
    return MappingProxyType(parse_bundled_table(document))


def parse_bundled_table(document: object) -> dict[str, LearnedLoader]:
    """Return the loaders of a bundled table document by node type; malformed entries
    are skipped. The first entry of a node type wins (packs are sorted by name)."""
    entries = document.get("entries") if isinstance(document, dict) else None
    loaders: dict[str, LearnedLoader] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        try:
            loader = LearnedLoader.from_json(
                {**entry, "model_inputs": entry.get("inputs"), "source": entry.get("pack")}
            )
        except ValueError:
            continue
        loaders.setdefault(loader.node_type, loader)
    return loaders


DEFAULT_TABLE_LEARNED: Mapping[str, LearnedLoader] = MappingProxyType({})


def default_table() -> LoaderTable:
    """Return the table when no install is known: hand-written plus bundled."""
    return LoaderTable(learned=DEFAULT_TABLE_LEARNED, bundled=bundled_loaders())


# --- inference from input names -------------------------------------------------------

INFERRED_INPUTS: Mapping[str, str] = MappingProxyType(
    {
        "ckpt_name": "checkpoints",
        "lora_name": "loras",
        "vae_name": "vae",
        "unet_name": "diffusion_models",
        "clip_name": "text_encoders",
        "control_net_name": "controlnet",
        "controlnet_name": "controlnet",
        "style_model_name": "style_models",
        "clip_vision_name": "clip_vision",
        "upscale_model_name": "upscale_models",
        "gligen_name": "gligen",
        "hypernetwork_name": "hypernetworks",
        "photomaker_model_name": "photomaker",
        "audio_encoder_name": "audio_encoders",
        "ipadapter_file": "ipadapter",
        "instantid_file": "instantid",
        "pulid_file": "pulid",
    }
)
"""Input names ComfyUI's own loaders (and the packs that copy them) tie to one folder."""

_NUMBERED = re.compile(r"_?\d+$")


def inferred_folder(node_type: str, input_name: str | None) -> str | None:
    """Return the folder an input's name implies on a node no table knows, or None.

    Takes the node type and the input name. ``ckpt_name``, ``lora_name``, ``vae_name``,
    ``unet_name``, ``clip_name`` (``clip_vision`` on a node naming vision), ... mean the
    folder ComfyUI's own loader of that input reads, also numbered (``clip_name2``,
    ``lora_name_3``) or prefixed (``refiner_ckpt_name``). ``model_name`` is ambiguous
    (upscalers, detectors, AnimateDiff, ...) and is inferred only on a node whose type
    names an upscale model. None for every other name.
    """
    if not input_name:
        return None
    name = _NUMBERED.sub("", input_name.strip().lower())
    for key, folder in INFERRED_INPUTS.items():
        if name == key or name.endswith("_" + key):
            if key == "clip_name" and "vision" in node_type.lower():
                return "clip_vision"
            return folder
    lowered_type = node_type.lower().replace(" ", "")
    if name == "model_name" and "upscalemodel" in lowered_type and "latent" not in lowered_type:
        return "upscale_models"
    return None


def names_file(value: str, folder_entry: bool = False) -> bool:
    """Return whether a value on a model input names a file: it is not a placeholder
    (``None``, ``Baked VAE``) and has an extension, unless the input takes folders."""
    if not is_plain_value(value) or value.strip().lower() in PLACEHOLDER_VALUES:
        return False
    return folder_entry or _has_extension(value)
