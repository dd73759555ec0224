"""Reading a node's values without a table's word for them: which values name a model file,
and which folder an input's name implies on a node no table knows. The embeddings named in
prompt text are read by :mod:`watchman.comfy.prompt_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from watchman.comfy.folders import is_model_file_name
from watchman.comfy.loaders import LoaderSpec

PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {"none", "baked vae", "[none]", "null", "undefined", "", "disabled"}
)
"""Values loaders offer in their file lists that name no file (compared lower-case)."""


def is_plain_value(value: object) -> bool:
    """Return whether ``value`` could name a file: a one-line string that is not a URL,
    of at most 1,024 characters (a longer text on an input nothing knows is prose)."""
    return isinstance(value, str) and len(value) <= 1024 and _one_line_name(value)


def _one_line_name(value: str) -> bool:
    if not value.strip() or "\n" in value or "\r" in value:
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
    # No length cap here: ComfyUI checks a loader's value against its file list however
    # long it is, so a long one is a missing file (or, past MAX_FILE_NAME_CHARS in one
    # part, a name no file can have), never "nothing to check".
    if not _one_line_name(value) or value.strip().lower() in PLACEHOLDER_VALUES:
        return False
    return folder_entry or _has_extension(value)
