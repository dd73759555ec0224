"""The types a node's links carry (:mod:`watchman.comfy.link_types`), read from its
source, never run: the offline twin of a live server's ``output`` lists and input heads.

Only what the class writes in place is read; anything computed is left unknown:

- its outputs: a classic class's ``RETURN_TYPES`` bound once to a tuple or list whose
  every item is a type written as text, as ``IO.<TYPE>`` (``IO.ANY`` is ``*``) or as
  an alias of a core type (``Types.IMAGE``); a v3 schema's ``outputs=[...]`` written
  in place, every item ``io.<Type>.Output(...)`` of a type this module knows or
  ``io.Custom("T").Output(...)``. One item not read leaves every slot unknown, since
  the slots after it are counted from it;
- its inputs' declared types: the required and optional entries of an ``INPUT_TYPES``
  returning one dict written in place, each typed as above or by a list of choices; the
  items of a v3 ``inputs=[...]`` of a type this module knows. An entry typed otherwise
  (a variable, a call, a dynamic v3 kind) is left out, so its links are not judged;
- whether its validation takes ``input_types`` (ComfyUI then compares none of its links):
  its own ``VALIDATE_INPUTS`` (v3: ``validate_inputs``), read off the class; whether a
  base holds one is the pack reader's to follow (:mod:`watchman.comfy.pack_sockets`).
"""

from __future__ import annotations

import ast
import sys

from watchman.comfy.link_types import ANY_TYPE, CHOICES, MATCH_TYPE, MAX_SLOTS, type_text
from watchman.comfy.static_layout import CORE_SOCKET_TYPES, written_sections
from watchman.comfy.syntax_literals import attribute_parts, constant_text

IO_TYPES = frozenset(
    {
        "STRING", "IMAGE", "MASK", "LATENT", "BOOLEAN", "INT", "FLOAT", "COMBO",
        "CONDITIONING", "SAMPLER", "SIGMAS", "GUIDER", "NOISE", "CLIP", "CONTROL_NET",
        "VAE", "MODEL", "LORA_MODEL", "LOSS_MAP", "CLIP_VISION", "CLIP_VISION_OUTPUT",
        "STYLE_MODEL", "GLIGEN", "UPSCALE_MODEL", "AUDIO", "WEBCAM", "POINT",
        "FACE_ANALYSIS", "BBOX", "SEGS", "VIDEO",
    }
)  # fmt: skip
"""The members of ComfyUI's ``comfy_types.IO`` whose value is their own name."""

IO_SPECIAL = {"ANY": ANY_TYPE, "NUMBER": "FLOAT,INT", "PRIMITIVE": "STRING,FLOAT,INT,BOOLEAN"}
"""The members of ``comfy_types.IO`` whose value is another text."""

V3_IO_TYPES = {
    "Boolean": "BOOLEAN", "Int": "INT", "Float": "FLOAT", "String": "STRING",
    "Combo": "COMBO", "MultiCombo": "COMBO", "Image": "IMAGE", "Mask": "MASK",
    "Latent": "LATENT", "Conditioning": "CONDITIONING", "Sampler": "SAMPLER",
    "Sigmas": "SIGMAS", "Noise": "NOISE", "Guider": "GUIDER", "Clip": "CLIP",
    "ControlNet": "CONTROL_NET", "Vae": "VAE", "Model": "MODEL",
    "ClipVision": "CLIP_VISION", "ClipVisionOutput": "CLIP_VISION_OUTPUT",
    "StyleModel": "STYLE_MODEL", "Gligen": "GLIGEN", "UpscaleModel": "UPSCALE_MODEL",
    "LatentUpscaleModel": "LATENT_UPSCALE_MODEL", "Audio": "AUDIO", "Video": "VIDEO",
    "SVG": "SVG", "LoraModel": "LORA_MODEL", "LossMap": "LOSS_MAP", "Voxel": "VOXEL",
    "Mesh": "MESH", "Hooks": "HOOKS", "HookKeyframes": "HOOK_KEYFRAMES",
    "TimestepsRange": "TIMESTEPS_RANGE", "LatentOperation": "LATENT_OPERATION",
    "Photomaker": "PHOTOMAKER", "FaceAnalysis": "FACE_ANALYSIS", "BBOX": "BBOX",
    "SEGS": "SEGS", "AnyType": ANY_TYPE, "MODEL_PATCH": "MODEL_PATCH",
    "AudioEncoder": "AUDIO_ENCODER", "AudioEncoderOutput": "AUDIO_ENCODER_OUTPUT",
    "Tracks": "TRACKS", "MatchType": MATCH_TYPE,
}  # fmt: skip
"""The v3 types (``comfy_api``'s ``io.<Type>``) by the ``io_type`` ComfyUI gives them;
not the dynamic kinds (``MultiType``, ``Autogrow``...), whose inputs expand."""

WrittenInputs = tuple[tuple[str, str], ...]


def written_type(node: ast.expr) -> str | None:
    """Return the type an expression writes: a text, ``IO.<TYPE>`` / ``io.IO.<TYPE>``
    (a member of ComfyUI's ``IO``), or ``Alias.<CORE TYPE>``; None for anything else."""
    text = constant_text(node)
    if text is not None:
        return type_text(text)
    parts = attribute_parts(node)
    if parts is None or len(parts) < 2:
        return None
    member = parts[-1]
    if parts[-2] == "IO":
        if member in IO_SPECIAL:
            return IO_SPECIAL[member]
        return member if member in IO_TYPES else None
    if len(parts) == 2 and member in CORE_SOCKET_TYPES and member != "ANY":
        return member
    return None


def written_outputs(bindings: list[ast.expr] | None) -> tuple[str, ...] | None:
    """Return the types a classic class's ``RETURN_TYPES`` bindings write, or None when
    it is not bound exactly once to a tuple or list of written types."""
    if not bindings or len(bindings) != 1:
        return None
    value = bindings[0]
    if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) > MAX_SLOTS:
        return None
    found = [written_type(item) for item in value.elts]
    if any(item is None for item in found):
        return None
    return tuple(item for item in found if item is not None)


def written_inputs(function: ast.FunctionDef | ast.AsyncFunctionDef) -> WrittenInputs | None:
    """Return the declared types of the required and optional inputs an
    ``INPUT_TYPES`` written in place gives (an entry typed by what is not read is left
    out), sorted by name; None when it does not return one dict written in place."""
    if written_sections(function) is None:
        return None
    returned = next(node for node in ast.walk(function) if isinstance(node, ast.Return))
    assert isinstance(returned.value, ast.Dict)  # written_sections checked it
    found: dict[str, str] = {}
    for key, value in zip(returned.value.keys, returned.value.values, strict=True):
        if constant_text(key) not in ("required", "optional") or not isinstance(value, ast.Dict):
            continue
        for name_node, spec in zip(value.keys, value.values, strict=True):
            name = constant_text(name_node)
            if name is None or not isinstance(spec, ast.Tuple) or not spec.elts:
                continue
            head = spec.elts[0]
            declared = CHOICES if isinstance(head, ast.List) else written_type(head)
            if declared is not None and len(found) < MAX_SLOTS:
                found[sys.intern(name)] = declared
    return tuple(sorted(found.items()))


def v3_inputs(inputs: ast.expr | None) -> WrittenInputs | None:
    """Return the declared types of a v3 schema's ``inputs=[...]`` items it can read
    (``io.<Type>.Input("name")`` of a type of :data:`V3_IO_TYPES`, ``io.Custom("T")``),
    sorted by name; None when it is not a list written in place."""
    if not isinstance(inputs, ast.List):
        return None
    found: dict[str, str] = {}
    for item in inputs.elts:
        declared = _v3_type(item, "Input")
        if declared is None or not isinstance(item, ast.Call) or len(item.args) > 1:
            continue
        keywords = {keyword.arg: keyword.value for keyword in item.keywords}
        name = constant_text(item.args[0] if item.args else keywords.get("id"))
        if name is not None and len(found) < MAX_SLOTS:
            found[sys.intern(name)] = declared
    return tuple(sorted(found.items()))


def v3_outputs(outputs: ast.expr | None, keywords: list[ast.keyword]) -> tuple[str, ...] | None:
    """Return the types of a v3 schema's outputs: () when the schema call names none
    (and takes no ``**options``), those of an ``outputs=[...]`` written in place whose
    every item is read, else None."""
    if outputs is None:
        return () if all(keyword.arg is not None for keyword in keywords) else None
    if not isinstance(outputs, ast.List) or len(outputs.elts) > MAX_SLOTS:
        return None
    found = [_v3_type(item, "Output") for item in outputs.elts]
    if any(item is None for item in found):
        return None
    return tuple(item for item in found if item is not None)


def _v3_type(item: ast.expr, kind: str) -> str | None:
    """The ``io_type`` of ``io.<Type>.<kind>(...)`` or ``io.Custom("T").<kind>(...)``."""
    if not (
        isinstance(item, ast.Call)
        and isinstance(item.func, ast.Attribute)
        and item.func.attr == kind
    ):
        return None
    if any(keyword.arg is None for keyword in item.keywords):
        return None  # **options
    owner = item.func.value
    if isinstance(owner, ast.Attribute):
        return V3_IO_TYPES.get(owner.attr)
    if (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Attribute)
        and owner.func.attr == "Custom"
        and len(owner.args) == 1
    ):
        return type_text(constant_text(owner.args[0]))
    return None


def takes_input_types(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a validation method takes ``input_types`` among its named parameters
    (ComfyUI asks its ``getfullargspec().args``)."""
    named = [*method.args.posonlyargs, *method.args.args]
    return any(argument.arg == "input_types" for argument in named)
