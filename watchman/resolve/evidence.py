"""Folder evidence: what a source says about where a file belongs, and whether that agrees
with the folder the workflow's loader reads (and the subfolder its value names).

Every source has its own idea of a file's place: ComfyUI-Manager's ``type`` and
``save_path``, a template's ``directory``, Civitai's model type and file type, the folders
of a Hugging Face repository path. A ``FolderClaim`` holds that idea; ``contradiction``
says, in one sentence, why it cannot be the file the loader asks for, or None when it can.
Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchman.comfy.folders import canonical_folder, folder_type, listed_folder
from watchman.comfy.model_key import fold_case
from watchman.resolve.names import ascii_lower, normalise_value

# A directory older ComfyUI and ComfyUI-Manager name as a folder of its own; ComfyUI
# lists it under ``controlnet``. (Folder types that share directories, such as the GGUF
# ones, are read from the folder table: see ``_base``.)
_SAME_DIRECTORIES = {"t2i_adapter": "controlnet"}

# ComfyUI-Manager's model `type` -> the folder its `save_path: "default"` means.
MANAGER_TYPE_FOLDERS = {
    "checkpoint": "checkpoints",
    "checkpoints": "checkpoints",
    "unclip": "checkpoints",
    "clip": "text_encoders",
    "text_encoder": "text_encoders",
    "vae": "vae",
    "lora": "loras",
    "t2i-adapter": "controlnet",
    "t2i-style": "controlnet",
    "controlnet": "controlnet",
    "clip_vision": "clip_vision",
    "gligen": "gligen",
    "upscale": "upscale_models",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "unet": "diffusion_models",
    "diffusion_model": "diffusion_models",
    "taesd": "vae_approx",
}

# Civitai model type -> the folders a file of that type may be loaded from. Civitai files
# diffusion-only weights (Flux, Wan ...) under "Checkpoint", so a UNet loader may read one.
CIVITAI_TYPE_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoint": ("checkpoints", "diffusion_models"),
    "lora": ("loras",),
    "locon": ("loras",),
    "dora": ("loras",),
    "lycoris": ("loras",),
    "textualinversion": ("embeddings",),
    "vae": ("vae",),
    "controlnet": ("controlnet",),
    "upscaler": ("upscale_models",),
    "motionmodule": ("animatediff_models",),
    "hypernetwork": ("hypernetworks",),
    # Impact Pack reads detectors from ultralytics_bbox / ultralytics_segm.
    "detection": ("ultralytics", "ultralytics_bbox", "ultralytics_segm", "detection"),
}
# Civitai file types that are never model weights a loader reads.
CIVITAI_NON_MODEL_FILE_TYPES = frozenset({"config", "training data", "archive"})

# A Hugging Face path folder -> ComfyUI folder: the diffusers / transformers layout
# (unet/, vae/, text_encoder/ ...) and repackaged repositories (split_files/vae/ ...).
_HUB_FOLDERS = {
    "unet": "diffusion_models",
    "transformer": "diffusion_models",
    "diffusion_models": "diffusion_models",
    "vae": "vae",
    "text_encoder": "text_encoders",
    "text_encoder_2": "text_encoders",
    "text_encoder_3": "text_encoders",
    "text_encoders": "text_encoders",
    "image_encoder": "clip_vision",
    "clip_vision": "clip_vision",
    "controlnet": "controlnet",
    "checkpoints": "checkpoints",
    "loras": "loras",
    "vae_approx": "vae_approx",
    "upscale_models": "upscale_models",
    "embeddings": "embeddings",
    "style_models": "style_models",
    "model_patches": "model_patches",
    "audio_encoders": "audio_encoders",
}


@dataclass(frozen=True)
class FolderClaim:
    """Where a source says a file belongs.

    ``folders``: the canonical folder types it may be loaded from; empty when the source
    says nothing. ``subfolder``: the path below the folder the source installs it to
    (``""`` for the folder itself), or None when the source says nothing about it.
    ``origin``: how the source said it, for the reason shown to a person.
    """

    folders: frozenset[str] = frozenset()
    subfolder: str | None = None
    origin: str = ""
    # ComfyUI-Manager's save_path, a directory below models/ (``xlabs/controlnets``): a
    # pack's folder type may live in a nested directory its first part does not name.
    directory: str | None = None
    # The folder to name when the loader's folder is unknown (Civitai's Checkpoint type
    # may be loaded as a diffusion model, but is first a checkpoint).
    usual: str | None = None

    @property
    def folder(self) -> str | None:
        """The folder a file of this claim usually goes to, or None when unclaimed."""
        return self.usual or next(iter(sorted(self.folders)), None)


def same_folder(left: str, right: str) -> bool:
    """Return True when two folder type names are one folder for ComfyUI (legacy names,
    folder types that share directories)."""
    return _base(left) == _base(right)


def _base(folder: str) -> str:
    # A type that re-lists another's files, or searches another's directories (ComfyUI-GGUF's
    # unet_gguf, calcuis' vae_gguf), is that other folder for the question "same place?".
    listed = listed_folder(folder)
    kind = folder_type(listed)
    if kind is not None and kind.shares_dirs_with:
        return kind.shares_dirs_with[0]
    return _SAME_DIRECTORIES.get(listed, listed)


def contradiction(claim: FolderClaim, folder: str | None, subfolder: str) -> str | None:
    """Return why ``claim`` contradicts the loader's ``folder`` and the value's
    ``subfolder``, or None when it is compatible.

    The folder must be one the claim names (an unknown loader folder accepts any claim).
    The subfolder matters only when the workflow names one and the source claims one:
    both must then be equal (ASCII letters compared without case).
    """
    placed = placement(claim, folder)
    if placed is None:
        named = ", ".join(sorted(claim.folders))
        return f"{claim.origin or 'the source'} puts it in {named}, the loader reads {folder}"
    if subfolder and placed and not same_subfolder(placed, subfolder):
        return (
            f"{claim.origin or 'the source'} puts it in subfolder {placed}, "
            f"the workflow names {subfolder}"
        )
    return None


def placement(claim: FolderClaim, folder: str | None) -> str | None:
    """Return the subfolder ``claim`` puts a file in when the loader reads ``folder``:
    ``""`` for none or no claim, None when the claim puts it in another folder."""
    if not folder or not claim.folders:
        return claim.subfolder or ""
    if any(same_folder(folder, named) for named in claim.folders):
        return claim.subfolder or ""
    if claim.directory:
        path = ascii_lower(normalise_value(claim.directory))
        for directory in _directories_of(folder):
            if path == directory:
                return ""
            if path.startswith(f"{directory}/"):
                return normalise_value(claim.directory)[len(directory) + 1 :]
    return None


def _directories_of(folder: str) -> tuple[str, ...]:
    # The directories below models/ that ComfyUI searches for a folder type; a pack's
    # folder type (xlabs_controlnets) is often registered over a nested directory that its
    # name spells with "_" for "/".
    kind = folder_type(folder)
    found = [
        directory.removeprefix("models/").lower()
        for directory in (kind.default_dirs if kind else ())
        if directory.startswith("models/")
    ]
    name = canonical_folder(folder)
    found += [name, name.replace("_", "/")]
    return tuple(dict.fromkeys(found))


def ties_to_request(claim: FolderClaim, folder: str | None, subfolder: str) -> bool:
    """Return True when a catalogue claim pins a file to exactly the loader's folder and
    the value's subfolder (a claim without a subfolder means the folder itself): what a
    generic name (``model.safetensors``) needs before its entry can be the file the
    workflow means."""
    if not folder or not claim.folders:
        return False
    placed = placement(claim, folder)
    return placed is not None and same_subfolder(placed, subfolder)


def same_subfolder(left: str, right: str) -> bool:
    """Compare two subfolder paths as ModelKey compares paths (separators, ``./`` and case
    folded by its rules)."""
    return fold_case(normalise_value(left)) == fold_case(normalise_value(right))


def manager_claim(model_type: str | None, save_path: str | None) -> FolderClaim:
    """Return the claim of a ComfyUI-Manager model-list entry.

    ``save_path`` ``default`` (or absent) means the folder of the model ``type`` with no
    subfolder; otherwise its first part is the folder and the rest the subfolder.
    """
    path = normalise_value(save_path or "") or "default"
    if path == "default":
        folder = MANAGER_TYPE_FOLDERS.get(ascii_lower((model_type or "").strip()))
        if folder is None:
            return FolderClaim(origin="ComfyUI-Manager's model list")
        return FolderClaim(frozenset({folder}), "", "ComfyUI-Manager's model list")
    first, _, rest = path.partition("/")
    return FolderClaim(
        frozenset({canonical_folder(first)}), rest, "ComfyUI-Manager's model list", path
    )


def directory_claim(directory: str | None, origin: str) -> FolderClaim:
    """Return the claim of a workflow's or template's ``directory`` (a folder type,
    sometimes with a subfolder: ``loras/flux``); no directory is no claim."""
    path = normalise_value(directory or "")
    if not path:
        return FolderClaim(origin=origin)
    first, _, rest = path.partition("/")
    return FolderClaim(frozenset({canonical_folder(first)}), rest or None, origin)


def civitai_claim(model_type: str | None, file_type: str | None) -> FolderClaim | None:
    """Return the claim of a Civitai file from its model type and its file type, or None
    when the file is not model weights at all (a config, training data, an archive).

    A file of type ``VAE`` inside a checkpoint's version is a VAE whatever the model is.
    """
    kind = ascii_lower((file_type or "").strip())
    if kind in CIVITAI_NON_MODEL_FILE_TYPES:
        return None
    if kind == "vae":
        return FolderClaim(frozenset({"vae"}), None, "Civitai's file type VAE")
    model = ascii_lower((model_type or "").replace(" ", ""))
    folders = CIVITAI_TYPE_FOLDERS.get(model, ())
    if not folders:
        return FolderClaim()
    return FolderClaim(
        frozenset(folders), None, f"Civitai's model type {model_type}", None, folders[0]
    )


def hub_claim(repo: str, path: str) -> FolderClaim:
    """Return the claim of a file in a Hugging Face repository: the deepest folder of its
    path that names a ComfyUI folder or a diffusers component (``unet/``, ``vae/``,
    ``text_encoder/``, ``split_files/vae/`` ...); a file at the top says nothing."""
    parts = normalise_value(path).split("/")[:-1]
    for part in reversed(parts):
        folder = _HUB_FOLDERS.get(ascii_lower(part))
        if folder is not None:
            return FolderClaim(frozenset({folder}), None, f"the path {path} in {repo}")
    return FolderClaim(origin=f"{repo}")
