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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

CONTROL_AFTER_GENERATE = "control_after_generate"
"""Pseudo widget the frontend adds after seed-like INT widgets (fixed/increment/...)."""

CONTROL_VALUES: frozenset[str] = frozenset(
    {"fixed", "increment", "increment-wrap", "decrement", "randomize"}
)
"""What a control widget stores (``increment-wrap``: a list's, wrapping to its first choice)."""


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
