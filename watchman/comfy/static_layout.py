"""A node's widget layout read from its source, never run: the offline twin of the layout
a live server's ``/object_info`` gives (:mod:`watchman.comfy.widget_layout`).

Read from a classic node's ``INPUT_TYPES`` entries, in the order the pack reader finds
them (required, then optional). A list's choices are kept only when they are written in
the entry itself, every one a text (``"type": (["stable_diffusion", "sd3", ...],)``, as
ComfyUI's own ``CLIPLoader`` writes it): a list built elsewhere (a folder's files, a
module's list a pack may extend at import) is a list of unknown choices, never checked.
An entry of a type the reader cannot tell takes any value in its place, so the layout
still has to fit every stored value exactly.

A number input spelled ``"INT"`` or ``"FLOAT"`` (``IO.INT``, v3 ``io.Int``) keeps its
type and range; a bound is kept when it is written in place: a number, a negative one,
or a name of the module bound once, at its top level, to such a number (ComfyUI's
``MAX_RESOLUTION`` in ``nodes.py``), which nothing in the file rebinds (no ``global``, no
import of that name, no second binding) and the method does not shadow. A bound of any
other writing leaves that side open.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping

from watchman.comfy.number_ranges import Bound, NumberRange, bound, number_range
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.sampler_lists import shared_list_key
from watchman.comfy.syntax_literals import attribute_parts, constant_text
from watchman.comfy.widget_layout import SEED_NAMES, SlotKind, WidgetSlot

MAX_LITERAL_CHOICES = 1_000
"""A written list longer than this keeps no choices (its place is still laid out)."""

CORE_SOCKET_TYPES = frozenset(
    {
        "MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "IMAGE", "MASK", "CONTROL_NET",
        "STYLE_MODEL", "CLIP_VISION", "CLIP_VISION_OUTPUT", "UPSCALE_MODEL", "SAMPLER",
        "SIGMAS", "NOISE", "GUIDER", "AUDIO", "VIDEO", "GLIGEN", "LATENT_UPSCALE_MODEL",
        "HOOKS", "WEBCAM", "ANY",
    }
)  # fmt: skip
"""ComfyUI's own socket types: ``Alias.IMAGE`` names one of these."""

_KINDS: dict[str, SlotKind] = {
    "INT": "number",
    "FLOAT": "number",
    "STRING": "text",
    "BOOLEAN": "boolean",
    "COMBO": "combo",
}


Constants = Mapping[str, Bound]
"""A module's names bound once to a written number (:func:`module_constants`), and in
ComfyUI's own files those of its nodes.py as ``nodes.NAME``."""

CORE_NODES_FILE = "nodes.py"
"""ComfyUI's module ``nodes``, as the core's reading names it."""


def module_constants(
    tree: ast.Module, bindings: Mapping[str, list[ast.expr]], rebound: Collection[str]
) -> dict[str, Bound]:
    """Return the names the module ``tree`` binds once, at its top level, to a written
    number (``MAX_RESOLUTION = 16384``), given every binding of its names (``bindings``,
    blocks included) and the names something else may rebind (``rebound``: those a
    ``global`` statement names). An imported name is none."""
    found: dict[str, Bound] = {}
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            continue
        name = statement.targets[0].id
        if name in rebound or len(bindings.get(name, ())) != 1:
            continue
        number = written_number(statement.value, {})
        if number is not None:
            found[name] = number
    if found:
        for name in _imported_names(tree.body):
            found.pop(name, None)
    return found


def plainly_imported(
    tree: ast.Module, module: str, bindings: Mapping[str, list[ast.expr]], rebound: Collection[str]
) -> bool:
    """Whether the module ``tree`` binds the name ``module`` only by ``import module`` at
    its top level (no alias, no other binding, no ``global``)."""
    imports = [
        alias
        for statement in tree.body
        if isinstance(statement, ast.Import)
        for alias in statement.names
        if (alias.asname or alias.name).split(".")[0] == module
    ]
    if not imports or any(alias.name != module or alias.asname for alias in imports):
        return False
    if module in bindings or module in rebound:
        return False
    others = _imported_names(
        [statement for statement in tree.body if not isinstance(statement, ast.Import)]
    )
    return module not in others


def _imported_names(body: list[ast.stmt]) -> set[str]:
    """The names the module's imports bind (in its blocks too, not in its functions)."""
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            blocks = [getattr(statement, field, []) for field in ("body", "orelse", "finalbody")]
            blocks += [handler.body for handler in getattr(statement, "handlers", [])]
            for block in blocks:
                names |= _imported_names(block)
    return names


def written_number(node: ast.expr | None, constants: Constants) -> Bound | None:
    """Return the number ``node`` writes: a number, a negative one, or a name (or
    ``module.NAME``) of ``constants``; None for anything else (a boolean is no number)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = written_number(node.operand, {})
        return bound(-inner) if inner is not None else None
    if isinstance(node, ast.Constant):
        return bound(node.value)
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return constants.get(f"{node.value.id}.{node.attr}")
    return None


def written_range(
    integer: bool, minimum: ast.expr | None, maximum: ast.expr | None, constants: Constants
) -> NumberRange | None:
    """Return the range of a number input whose ``min`` and ``max`` are ``minimum`` and
    ``maximum`` (None: not given), each side open when it is not written in place."""
    return number_range(
        integer, written_number(minimum, constants), written_number(maximum, constants)
    )


def static_slots(name: str, spec: ast.expr, constants: Constants | None = None) -> list[WidgetSlot]:
    """Return the widget slots of one widget input (the reader already knows it is no
    socket): ``spec`` is its ``INPUT_TYPES`` entry, ``(type_or_list, {options})``;
    ``constants``: the module's names a bound may be written with."""
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return [WidgetSlot(name, "any")]
    first = spec.elts[0]
    options = written_options(spec.elts[1] if len(spec.elts) > 1 else None)
    text = constant_text(first)
    if text is None and isinstance(first, ast.Attribute):
        text = first.attr if first.attr in _KINDS else None  # IO.INT, io.FLOAT
    shared: str | None = None
    if isinstance(first, (ast.List, ast.Tuple)):
        kind: SlotKind = "combo"
        choices = _written_choices(first)
    elif text is not None and text.upper() in _KINDS:
        kind = _KINDS[text.upper()]
        listed = options.get("options")
        choices = _written_choices(listed) if kind == "combo" and listed is not None else None
        if kind == "combo" and listed is not None:
            shared = shared_list_key(listed)  # ("COMBO", {"options": comfy.samplers...})
    else:
        # A list from a call, a name or an attribute: a combo of choices not written here
        # (but for ComfyUI's own sampler and scheduler lists, the install's).
        kind = "combo" if isinstance(first, (ast.Call, ast.Name, ast.Attribute)) else "any"
        choices = None
        shared = shared_list_key(first)
    if kind == "combo" and written_true(options.get("multiselect")):
        kind, choices, shared = "any", None, None
    allowed = None
    if kind == "number" and text in ("INT", "FLOAT"):
        # Spelled as ComfyUI compares it: an "int" input is neither converted nor given a
        # widget of the kind, so what it takes is not known.
        allowed = written_range(
            text == "INT", options.get("min"), options.get("max"), constants or {}
        )
    slots = [
        WidgetSlot(name, kind, choices, shared=shared if kind == "combo" else None, range=allowed)
    ]
    controlled = written_true(options.get("control_after_generate"))
    if kind == "combo":
        if controlled:
            slots += [WidgetSlot(None, "control", optional=True)]
            slots += [WidgetSlot(None, "filter", optional=True)]
        if any(key.endswith("_upload") and written_true(value) for key, value in options.items()):
            slots.append(WidgetSlot(None, "upload", optional=True))
    elif kind == "number" and (controlled or name in SEED_NAMES):
        slots.append(WidgetSlot(None, "control", optional=True))
    return slots


def written_sections(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str] | None:
    """Return the input names of an ``INPUT_TYPES`` that returns one dict written in
    place, required then optional, or None when it does anything else: several returns
    (a conditional list), a name or a call returned, a section built with ``**``, ``|``
    or a call, or an input named twice (Python keeps the last). Only then is the layout
    read from the source the one ComfyUI gets."""
    returns = [node for node in syntax_nodes(function) if isinstance(node, ast.Return)]
    if len(returns) != 1 or not isinstance(returns[0].value, ast.Dict):
        return None
    names: list[str] = []
    found: dict[str, ast.Dict] = {}
    for key, value in zip(returns[0].value.keys, returns[0].value.values, strict=True):
        section = constant_text(key) if key is not None else None
        if section is None:
            return None  # **spread: the sections are not all written here
        if section in ("required", "optional"):
            if not isinstance(value, ast.Dict) or section in found:
                return None
            found[section] = value
    for section in ("required", "optional"):
        for key in found[section].keys if section in found else ():
            name = constant_text(key) if key is not None else None
            if name is None or name in names:
                return None
            names.append(name)
    return names


def surely_socket(spec: ast.expr) -> bool:
    """Whether an entry the reader took for a socket surely is one: a written type name
    (``("MODEL",)``, ``(IO.IMAGE,)``) or ``forceInput``. A type read off the node itself
    (``(self.styles,)``, a list built in ``INPUT_TYPES``) may be a list: a layout that
    left it out could shift every later value, so such a layout is not kept."""
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return False
    if written_true(
        written_options(spec.elts[1] if len(spec.elts) > 1 else None).get("forceInput")
    ):
        return True
    first = spec.elts[0]
    if constant_text(first) is not None:
        return True
    parts = attribute_parts(first)
    if parts is None:
        return False
    if any(part in ("IO", "io") for part in parts):
        return True
    # ``Types.IMAGE``: a pack's own alias of a core type (``KSampler.SAMPLERS`` is a list).
    return len(parts) == 2 and parts[1] in CORE_SOCKET_TYPES


def attribute_list(spec: ast.expr) -> bool:
    """Whether an entry the reader took for a socket is a list held by a module's class:
    ``(comfy.samplers.KSampler.SAMPLERS,)``, a chain of two or more attributes without an
    ``IO`` in it (socket types are written ``IO.MODEL``, ``comfy_types.IO.IMAGE``)."""
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return False
    parts = attribute_parts(spec.elts[0])
    return parts is not None and len(parts) > 2 and not any(p in ("IO", "io") for p in parts)


def written_options(node: ast.expr | None) -> dict[str, ast.expr]:
    """Return an entry's options dict by its keys written as text ({} for anything but
    a written dict)."""
    if not isinstance(node, ast.Dict):
        return {}
    found = {}
    for key, value in zip(node.keys, node.values, strict=True):
        text = constant_text(key) if key is not None else None
        if text is not None:
            found[text] = value
    return found


def written_true(node: ast.expr | None) -> bool:
    """Return whether a flag is a written True or 1 (anything computed counts as not
    set)."""
    return isinstance(node, ast.Constant) and node.value in (True, 1)


def _written_choices(node: ast.expr) -> frozenset[str] | None:
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    if len(node.elts) > MAX_LITERAL_CHOICES:
        return None
    texts = [constant_text(element) for element in node.elts]
    if any(text is None for text in texts):
        return None
    return frozenset(text for text in texts if text is not None)


V3_CORE_SOCKET_TYPES = frozenset(
    {
        "Model", "Clip", "Vae", "Conditioning", "Latent", "Image", "Mask", "ControlNet",
        "StyleModel", "ClipVision", "ClipVisionOutput", "UpscaleModel", "Sampler", "Sigmas",
        "Noise", "Guider", "Audio", "Video", "Gligen", "LatentUpscaleModel", "Hooks",
    }
)  # fmt: skip
"""The v3 schema's types of ComfyUI's own data (``io.Image.Input``), as CORE_SOCKET_TYPES."""

V3_SOCKET_TYPES = V3_CORE_SOCKET_TYPES | frozenset(
    {
        "SVG", "LoraModel", "LossMap", "Voxel", "Mesh", "HookKeyframes", "TimestepsRange",
        "LatentOperation", "Photomaker", "FaceAnalysis", "BBOX", "SEGS", "MODEL_PATCH",
        "AudioEncoder", "AudioEncoderOutput", "WanCameraEmbedding", "Tracks", "Load3DCamera",
    }
)  # fmt: skip
"""Every v3 type that is only ever linked (``comfy_api``'s ``ComfyTypeIO`` types with a
plain input); not ``Load3D``, which the frontend shows as a widget, nor the dynamic
kinds (``Autogrow``, ``DynamicCombo``, ``MatchType``...)."""

_V3_KINDS: dict[str, SlotKind] = {
    "Int": "number",
    "Float": "number",
    "String": "text",
    "Boolean": "boolean",
    "Combo": "combo",
}


def v3_layout(
    inputs: ast.expr | None, constants: Constants | None = None
) -> list[WidgetSlot] | None:
    """Return the widget slots of a v3 schema's ``inputs=[...]``, required then optional
    (as ComfyUI's v1 conversion orders them for the frontend), or None unless every input
    is written in place as ``io.<Type>.Input("name", ...)`` of a type whose place is
    known: a widget type, or one of :data:`V3_SOCKET_TYPES` (a custom or dynamic type,
    ``optional`` or ``force_input`` computed, an input list built elsewhere: None)."""
    if not isinstance(inputs, ast.List):
        return None
    required: list[WidgetSlot] = []
    optional: list[WidgetSlot] = []
    names: set[str] = set()
    for item in inputs.elts:
        read = _v3_input(item, constants or {})
        if read is None:
            return None
        name, slots, is_optional = read
        if name in names:
            return None  # the second would replace the first in ComfyUI's dict
        names.add(name)
        (optional if is_optional else required).extend(slots)
    return required + optional


def _v3_input(item: ast.expr, constants: Constants) -> tuple[str, list[WidgetSlot], bool] | None:
    if not (
        isinstance(item, ast.Call)
        and isinstance(item.func, ast.Attribute)
        and item.func.attr == "Input"
        and isinstance(item.func.value, ast.Attribute)  # io.Int, not a Custom("X") call
    ):
        return None
    type_name = item.func.value.attr
    keywords = {keyword.arg: keyword.value for keyword in item.keywords}
    if None in keywords or not _is_none(keywords.get("extra_dict")):
        return None  # **extra, extra_dict={"forceInput": True}: what it sets is not read
    if len(item.args) > (2 if type_name in ("Combo", "MultiCombo") else 1):
        return None  # (id, options, display_name, optional, ...): flags not read by place
    name = constant_text(item.args[0] if item.args else keywords.get("id"))
    if name is None:
        return None
    flags = []
    for flag in ("optional", "force_input"):
        value = keywords.get(flag)
        if value is not None and not (
            isinstance(value, ast.Constant) and value.value in (True, False, None)
        ):
            return None
        flags.append(written_true(value))
    is_optional, forced = flags
    if type_name in V3_SOCKET_TYPES or (forced and type_name in _V3_KINDS):
        return name, [], is_optional
    if type_name == "MultiCombo":
        return name, [WidgetSlot(name, "any")], is_optional  # a list of picks
    kind = _V3_KINDS.get(type_name)
    if kind is None:
        return None
    allowed = None
    if kind == "number":
        allowed = written_range(
            type_name == "Int", keywords.get("min"), keywords.get("max"), constants
        )
    slots = [WidgetSlot(name, kind, range=allowed)]
    controlled = _v3_set(keywords.get("control_after_generate"))
    if kind == "combo":
        options = keywords.get("options", item.args[1] if len(item.args) > 1 else None)
        shared = shared_list_key(options) if options is not None else None
        choices = None
        if options is not None and keywords.get("remote") is None:
            choices = _written_choices(options)
        slots = [WidgetSlot(name, "combo", choices, shared=shared)]
        if controlled:
            slots += [WidgetSlot(None, "control", optional=True)]
            slots += [WidgetSlot(None, "filter", optional=True)]
        if _v3_set(keywords.get("upload")):
            slots.append(WidgetSlot(None, "upload", optional=True))
    elif kind == "number" and (controlled or name in SEED_NAMES):
        slots.append(WidgetSlot(None, "control", optional=True))
    return name, slots, is_optional


def _is_none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _v3_set(node: ast.expr | None) -> bool:
    # A keyword given any value but a written None or False (``True``,
    # ``io.ControlAfterGenerate.randomize``, ``io.UploadType.image``).
    return node is not None and not (isinstance(node, ast.Constant) and node.value in (None, False))
