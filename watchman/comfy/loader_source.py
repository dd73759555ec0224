"""Loader inputs learned from a node pack's Python source, by reading it, never running it.

A node pack tells ComfyUI which model folder an input lists through
``folder_paths.get_filename_list("loras")`` in the node's ``INPUT_TYPES`` (or, in the v3
API, ``io.Combo.Input("name", options=folder_paths.get_filename_list(...))`` in
``define_schema``). This module reads a pack's syntax trees and records, per node type,
the widget inputs in the order the frontend stores their values (required, then
optional) and, for each input that lists a folder, the folder types.

What is understood: the list call itself (any function named ``get_filename_list``, so
packs' own wrappers count), sums of lists (``["None"] + get_filename_list("loras")``),
``sorted``/``list``/comprehensions over one, ``get_folder_paths("x")``-based listings, a
name bound to any of these (in ``INPUT_TYPES``, the class body or the module, also
through ``.extend``/``+=``, or to ``s.x`` inside ``INPUT_TYPES``), a module function
returning one (its parameters bound to the call's arguments; when what it returns is
built step by step, the listing calls in its body), ``folder_names_and_paths["x"]``, and
listings of a directory under ``folder_paths.models_dir`` that name a model extension
(``glob.glob(os.path.join(models_dir, "facerestore_models/*"))`` filtered by ``.pth``).
Inputs stored by subscript (``inputs["optional"]["x"] = ...``) count in source order, and
a ``for i in range(...)`` loop with known integer bounds is unrolled for f-string keys
(``f"lora_{i}_name"``). A "Select to add LoRA" combo lists a folder only to insert a tag
into the text: its node is known, but that input loads no file.

Node types come from ``NODE_CLASS_MAPPINGS`` (literal dicts, ``.update``, item
assignment, keys such as ``Cls.NAME``), from any dict literal of node classes (packs
register conditional groups that way), and from v3 ``node_id=``. A class with no
``INPUT_TYPES`` of its own takes its base's; a mapping value wrapping a class
(``override_class(UNETLoader)``, ``wrap(NODE_CLASS_MAPPINGS["UNETLoader"])``) or a
subclass of a class the pack does not define records that it *wraps* the node type of
that name (or of the mapping key a base is bound to: ``Base = nodes["Efficient Loader"]``),
whose spec the loader table supplies.

The work is bounded (bytes, files and syntax nodes per pack, depth of name following),
and one file that does not parse or exceeds a bound is that file's problem only. Reading
one file is :mod:`watchman.comfy.loader_file`; this module reads the pack's files in turn
and joins what they say.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from watchman.comfy.folders import listed_folder
from watchman.comfy.loader_file import (
    LISTING_MARKERS,
    NODE_MARKERS,
    FileReader,
    PackIndex,
)
from watchman.comfy.loader_inputs import ClassInfo
from watchman.comfy.loader_mappings import looks_like_class
from watchman.comfy.loader_names import (
    TextCall,
    call_text,
)
from watchman.comfy.loader_scope import (
    MAX_DEPTH,
)
from watchman.comfy.pack_sockets import pack_sockets
from watchman.comfy.python_source import PARSE_ERRORS, parse_failure, syntax_nodes
from watchman.comfy.sampler_lists import changes_sampler_lists, mentions_sampler_lists
from watchman.comfy.static_sockets import StaticSockets
from watchman.comfy.widget_layout import WidgetSlot, layout_from_json, slot_json

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024
"""A larger file is generated or vendored code, not a node definition: not read."""
MAX_PACK_BYTES = 24 * 1024 * 1024
"""Source read per pack at most; the rest of a larger pack is not read (said once)."""
MAX_TEXT_HELPER_FILE_BYTES = 64 * 1024
"""A file with neither nodes nor listings is kept for a name-building helper up to this."""
MAX_SYNTAX_NODES = 400_000
"""Syntax nodes visited per pack at most (a bound on time that needs no clock)."""


@dataclass(frozen=True)
class LearnedLoader:
    """What a pack's source says about one node type's inputs.

    ``widgets``: widget input names, required then optional. ``model_inputs``: input name
    to the canonical folder types it lists, in order. ``wraps``: the node type whose
    inputs this one copies (a wrapper or subclass of a class defined elsewhere), or None.
    ``source``: the file (relative to the pack) that declared the inputs.
    ``folder_inputs``: the model inputs whose values name a folder, not a file (the
    listing keeps directories only: ``os.listdir`` filtered by ``isdir``, the folders
    ``os.walk`` finds), sorted. ``input_files``: the inputs the node's validation
    resolves in ComfyUI's input folder (``LoadImage``'s ``image``:
    :mod:`watchman.comfy.validated_inputs`), in parameter order. ``validated``: the
    inputs its validation method (``VALIDATE_INPUTS``, v3 ``validate_inputs``) takes,
    ``**`` for all, whose list check ComfyUI leaves to it
    (:mod:`watchman.stages.value_needs`).
    ``layout``: its widget slots when a list's choices are written in its source
    (:mod:`watchman.comfy.static_layout`), else ().
    """

    node_type: str
    widgets: tuple[str, ...]
    model_inputs: tuple[tuple[str, tuple[str, ...]], ...]
    wraps: str | None = None
    source: str = ""
    folder_inputs: tuple[str, ...] = ()
    input_files: tuple[str, ...] = ()
    validated: tuple[str, ...] = ()
    layout: tuple[WidgetSlot, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict that :meth:`from_json` reads back (``folder_inputs``
        ``input_files``, ``validated`` and ``layout`` only when set, so older documents
        read the same)."""
        document: dict[str, object] = {
            "node_type": self.node_type,
            "widgets": list(self.widgets),
            "model_inputs": {name: list(folders) for name, folders in self.model_inputs},
            "wraps": self.wraps,
            "source": self.source,
        }
        if self.folder_inputs:
            document["folder_inputs"] = list(self.folder_inputs)
        if self.input_files:
            document["input_files"] = list(self.input_files)
        if self.validated:
            document["validated"] = list(self.validated)
        if self.layout:
            document["layout"] = [slot_json(slot) for slot in self.layout]
        return document

    @classmethod
    def from_json(cls, data: object) -> LearnedLoader:
        """Rebuild from :meth:`to_json` output. Raises ValueError when malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("node_type"), str):
            raise ValueError("a learned loader needs a node_type")
        inputs = data.get("model_inputs") or {}
        widgets = data.get("widgets") or []
        if not isinstance(inputs, dict) or not isinstance(widgets, list):
            raise ValueError(f"learned loader {data['node_type']!r} is malformed")
        wraps = data.get("wraps")
        folder_inputs = data.get("folder_inputs") or []
        input_files = data.get("input_files") or []
        if not isinstance(folder_inputs, list) or not isinstance(input_files, list):
            raise ValueError(f"learned loader {data['node_type']!r} is malformed")
        return cls(
            node_type=data["node_type"],
            widgets=tuple(str(name) for name in widgets),
            model_inputs=tuple(
                (str(name), tuple(str(folder) for folder in folders))
                for name, folders in inputs.items()
                if isinstance(folders, list)
            ),
            wraps=wraps if isinstance(wraps, str) else None,
            source=str(data.get("source") or ""),
            folder_inputs=tuple(sorted({name for name in folder_inputs if isinstance(name, str)})),
            input_files=tuple(dict.fromkeys(n for n in input_files if isinstance(n, str))),
            validated=_texts(data.get("validated")),
            layout=layout_from_json(data.get("layout")),
        )


_PATCHED_NAMES = (
    b"INPUT_TYPES",
    b"VALIDATE_INPUTS",
    b"validate_inputs",
    b"define_schema",
    b"OUTPUT_NODE",
)
_OWNER_BEFORE = re.compile(rb"([A-Za-z_]\w*)\s*\.\s*$")
_ASSIGNED_AFTER = re.compile(rb"\s*=(?!=)")
_SETATTR_OWNER = re.compile(rb"\s*(?:[A-Za-z_]\w*\s*\.\s*)*([A-Za-z_]\w*)")


def patched_classes(data: bytes) -> set[str]:
    """The names a file assigns ``INPUT_TYPES``, a v3 ``define_schema``, a validation
    method (``Node.VALIDATE_INPUTS = check``) or ``OUTPUT_NODE`` to, or hands to ``setattr``:
    what such a class runs
    is not what its body says. Found from the attribute's name outwards (a pattern
    starting at every identifier cost seconds over a few hundred packs)."""
    found: set[str] = set()
    for name in _PATCHED_NAMES:
        start = 0
        while (at := data.find(name, start)) >= 0:
            start = at + len(name)
            if _ASSIGNED_AFTER.match(data, start):
                owner = _OWNER_BEFORE.search(data[max(0, at - 256) : at])
                if owner is not None:
                    found.add(owner.group(1).decode("ascii", "replace"))
    start = 0
    while (at := data.find(b"setattr(", start)) >= 0:
        start = at + len(b"setattr(")
        owner = _SETATTR_OWNER.match(data, start)
        if owner is not None:
            found.add(owner.group(1).decode("ascii", "replace"))
    return found


# Unanchored, so the search jumps from one "class" to the next (anchored at every line it
# cost 1.4 s over 228 packs' 153 MB, this 0.14 s); a match in a comment adds a name, which
# only leaves a layout out.
_CLASS_BASES = re.compile(rb"class[ \t]+\w+[ \t]*\(([^)]*)\)")
_LAST_NAME = re.compile(rb"([A-Za-z_]\w*)\s*$")


def subclassed_names(data: bytes) -> set[str]:
    """The names a file's classes are derived from (``class B(pkg.A):`` gives ``A``): a
    v3 node's subclass inherits its ``node_id`` and may validate otherwise. A class of
    ComfyUI's library (``comfy.samplers.CFGGuider``) is no node: ``comfy.`` bases are
    left out, so a node sharing its name keeps what its source says."""
    found: set[str] = set()
    for match in _CLASS_BASES.finditer(data):
        for part in match.group(1).split(b","):
            part = part.strip()
            if part.startswith(b"comfy."):
                continue
            name = _LAST_NAME.search(part)
            if name is not None:
                found.add(name.group(1).decode("ascii", "replace"))
    return found


def _texts(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.left = nodes

    def spend(self, count: int = 1) -> bool:
        self.left -= count
        return self.left >= 0


@dataclass(frozen=True)
class PackReading:
    """What a pack's source says: its loaders, the problems met reading it, and whether
    it may change ComfyUI's sampler or scheduler lists
    (:func:`~watchman.comfy.sampler_lists.changes_sampler_lists`; a file not read for a
    bound that names one of them counts as changing them)."""

    loaders: tuple[LearnedLoader, ...]
    problems: tuple[str, ...]
    changes_sampler_lists: bool
    # The class names its files patch (patched_classes): another pack's or ComfyUI's
    # class of that name may not run as its source says.
    patched: tuple[str, ...] = ()
    # The socket rules its classes write, by node type (comfy/pack_sockets).
    sockets: StaticSockets = ()


def learn_loaders(
    files: Iterable[tuple[str, bytes]],
) -> tuple[tuple[LearnedLoader, ...], tuple[str, ...]]:
    """Return the loaders a pack's Python files declare, and the problems met
    (:func:`read_pack` without the rest)."""
    reading = read_pack(files)
    return reading.loaders, reading.problems


ParsedFile = Callable[[str, bytes, ast.Module, list[ast.AST]], None]
"""Told of each file :func:`read_pack` parsed: its relative path, bytes, syntax tree and
the tree's :func:`syntax_nodes`, so another reading of the pack needs no parse of its own."""


def read_pack(
    files: Iterable[tuple[str, bytes]], parsed: ParsedFile | None = None, core: bool = False
) -> PackReading:
    """Read a pack's Python files.

    Takes ``(relative path, source bytes)`` pairs of one pack (read lazily, in order), and
    optionally a :data:`ParsedFile` to tell of each file parsed (before it is read), and
    whether the files are ComfyUI's own (``core``: its nodes.py, read first, is the
    ``nodes`` its other files import).
    Returns the learned loaders sorted by node type (only node types with at least one
    input listing a model folder, or one listing it only to insert text, which load no
    file, or wrapping another node type), one sentence per file that could not be read
    or per bound reached, whether it may change the sampler lists, the class names it
    patches, and the socket rules its classes write (:mod:`watchman.comfy.pack_sockets`).
    Never raises for any content.
    """
    index = PackIndex(core=core)
    budget = _Budget(MAX_SYNTAX_NODES)
    total = 0
    helper_files: list[tuple[str, bytes]] = []
    remaining = iter(files)  # a bound reached: the files not yet read are these
    for relative, data in remaining:
        if len(data) > MAX_FILE_BYTES:
            index.problems.append(f"{relative}: {len(data)} bytes is over the file limit.")
            _unread(index, [data])
            continue
        total += len(data)
        if total > MAX_PACK_BYTES:
            index.problems.append(f"{relative}: the pack's source limit was reached; not read.")
            _unread(index, [data, *(rest for _, rest in remaining)])
            break
        index.patched.update(patched_classes(data))
        index.subclassed.update(subclassed_names(data))
        if any(marker in data for marker in NODE_MARKERS):
            if not _read_file(relative, data, index, budget, parsed):
                _unread(index, [data, *(rest for _, rest in remaining)])
                break
            continue
        if mentions_sampler_lists(data) and not index.changes_sampler_lists:
            # No node here, but maybe the lists changed (a pack's __init__, a patch file).
            _check_sampler_lists(relative, data, index, budget)
        if any(marker in data for marker in LISTING_MARKERS):
            helper_files.append((relative, data))
        elif len(data) <= MAX_TEXT_HELPER_FILE_BYTES and b"return" in data:
            helper_files.append((relative, data))  # may define a name-building helper
    # A file that declares no node but lists a folder may hold helpers that node files
    # import (from .utils import get_models): read only those defining a name some
    # input still waits for.
    wanted = {
        key.split("(", 1)[0].rsplit(".", 1)[-1].encode()
        for infos in (*index.classes.values(), index.v3.values())
        for info in infos
        for _, keys in info.pending
        for key in keys
    }
    wanted |= {
        text.helper.encode()
        for name, attribute, *_ in index.attribute_keys
        for info in index.classes.get(name, ())
        for text in [info.texts.get(attribute)]
        if isinstance(text, TextCall) and text.helper not in index.text_helpers
    }
    for relative, data in helper_files:
        needed = any(b"def " + name in data for name in wanted)
        if needed and not _read_file(relative, data, index, budget, parsed):
            break
    return PackReading(
        _join(index),
        tuple(index.problems),
        index.changes_sampler_lists,
        tuple(sorted(index.patched)),
        pack_sockets(index),
    )


def _unread(index: PackIndex, files: Iterable[bytes]) -> None:
    # A file left unread for a bound may still change the sampler lists: one naming them
    # is taken to (a bound is rare, and a wrong list check worse than none).
    if any(mentions_sampler_lists(data) for data in files):
        index.changes_sampler_lists = True


def _check_sampler_lists(relative: str, data: bytes, index: PackIndex, budget: _Budget) -> None:
    """Read a file without nodes for whether it changes the sampler lists alone."""
    try:
        tree = ast.parse(data, filename=relative)
    except PARSE_ERRORS:
        # Maybe only this Python's parser: ComfyUI's may be newer. It names the lists.
        index.changes_sampler_lists = True
        return
    if not budget.spend(len(syntax_nodes(tree))):
        index.changes_sampler_lists = True
        return
    index.changes_sampler_lists = changes_sampler_lists(tree)


def _read_file(
    relative: str, data: bytes, index: PackIndex, budget: _Budget, parsed: ParsedFile | None
) -> bool:
    """Read one file into ``index`` (telling ``parsed`` of its tree); False when the
    pack's syntax budget is spent."""
    try:
        tree = ast.parse(data, filename=relative)
    except PARSE_ERRORS as error:
        index.problems.append(f"{relative}: does not parse as Python ({parse_failure(error)}).")
        # A newer Python than this one may run it (an f-string of 3.12): if it names the
        # sampler lists, it may change them.
        index.changes_sampler_lists = index.changes_sampler_lists or mentions_sampler_lists(data)
        return True
    nodes = syntax_nodes(tree)  # counted for the budget, then read (one walk)
    if not budget.spend(len(nodes)):
        index.problems.append(f"{relative}: the pack's syntax budget was spent; not read.")
        return False
    try:
        if parsed is not None:
            parsed(relative, data, tree, nodes)
        FileReader(tree, relative, index).read(nodes)
        if not index.changes_sampler_lists and mentions_sampler_lists(data):
            index.changes_sampler_lists = changes_sampler_lists(tree)
    except (RecursionError, MemoryError) as error:
        index.problems.append(f"{relative}: too deeply nested to read ({error!r}).")
        index.changes_sampler_lists = index.changes_sampler_lists or mentions_sampler_lists(data)
    return True


def _resolve_pending(index: PackIndex) -> None:
    """Give deferred inputs the folders the pack's helpers list (see ``_defer``)."""
    infos = [info for infos in index.classes.values() for info in infos]
    for info in [*infos, *index.v3.values()]:
        pending, info.pending = info.pending, []
        added: list[tuple[str, tuple[str, ...]]] = []
        folder_inputs: list[str] = []
        for name, keys in pending:
            folders: list[str] = []
            listing = [key for key in keys if index.helpers.get(key)]
            for key in listing:
                for folder in index.helpers.get(key) or ():
                    if folder not in folders:
                        folders.append(folder)
            for key in keys:
                helper, _, argument = key.partition("(")
                if argument and index.root_helpers.get(helper):
                    # get_model_path("insightface"): the files of that folder's root.
                    folder = listed_folder(argument[:-1])
                    if folder not in folders:
                        folders.append(folder)
                        listing = []  # files: a root helper's listing is not of folders
            if folders:
                added.append((name, tuple(folders)))
                if listing and all(key in index.folder_helpers for key in listing):
                    folder_inputs.append(name)  # every helper it draws on lists folders
        if added:
            info.model_inputs = (*info.model_inputs, *added)
        if folder_inputs:
            info.folder_inputs = tuple(sorted({*info.folder_inputs, *folder_inputs}))


def _join(index: PackIndex) -> tuple[LearnedLoader, ...]:
    _resolve_pending(index)
    _resolve_attribute_keys(index)
    loaders: dict[str, LearnedLoader] = {}
    for node_type, info in index.v3.items():
        if info.layout and (
            index.v3_defined.get(node_type, 0) > 1
            or info.name in index.patched
            or info.name in index.subclassed
        ):
            # Which class ComfyUI registers, what a patch changes, or what a subclass
            # registered with the same node_id validates, is not read.
            info = replace(info, layout=())
        if _worth_keeping(info):
            loaders[node_type] = _loader(node_type, info)
    node_groups = set(index.node_groups)
    for _, class_name, wrapped, _, group in index.entries:
        # A dict whose values include a node class (INPUT_TYPES or schema) maps node
        # types; other dicts ({"lat_h": H}) are data.
        for name in (class_name, wrapped):
            if name is not None and _is_node_class(name, index, 0):
                node_groups.add(group)
    for node_type, class_name, wrapped, source, group in index.entries:
        if node_type in loaders or group not in node_groups:
            continue
        learned = None
        if class_name is not None:
            learned = _from_class(node_type, class_name, index, 0)
            if (
                learned is None
                and class_name not in index.classes
                and class_name != node_type
                and looks_like_class(class_name)
            ):
                # A class imported from elsewhere (ComfyUI's nodes, another pack).
                wrapped = class_name
        if learned is None and wrapped is not None:
            inner = _from_class(node_type, wrapped, index, 0) if wrapped in index.classes else None
            learned = inner or LearnedLoader(node_type, (), (), wraps=wrapped, source=source)
        if learned is not None:
            loaders[node_type] = learned
    return tuple(loaders[name] for name in sorted(loaders))


def _resolve_attribute_keys(index: PackIndex) -> None:
    """Give mapping items keyed by ``Cls.NAME`` their node type, now that every file's
    classes and text helpers are known (one reading, or none when they disagree)."""
    for name, attribute, class_name, wrapped, source, group in index.attribute_keys:
        found: set[str] = set()
        for info in index.classes.get(name, ()):
            text = info.texts.get(attribute)
            if isinstance(text, TextCall):
                text = call_text(text, index.text_helpers)
            if text:
                found.add(text)
        if len(found) == 1:
            index.entries.append((found.pop(), class_name, wrapped, source, group))


def _is_node_class(name: str, index: PackIndex, depth: int) -> bool:
    """Whether the pack's class ``name`` can be a node: it or one of its bases in the
    pack declares inputs, or it subclasses a CapWords class defined elsewhere (a core
    loader) other than the library bases of :data:`_IGNORED_BASES`. Model options
    (``{"custom_operations": GGMLOps}``, GGMLOps a ``comfy.ops.manual_cast``) and a
    model's outputs (``{"attentions": Attention}``, a torch ``Module``) map no node."""
    if depth > MAX_DEPTH:
        return False
    for info in index.classes.get(name, ()):
        if info.widgets is not None or info.inherits_inputs_of is not None:
            return True
        for base in info.bases:
            if base == name or base in _IGNORED_BASES:
                continue
            if base in index.classes:
                if _is_node_class(base, index, depth + 1):
                    return True
            elif looks_like_class(base):
                return True  # a subclass of a core loader: it copies its inputs
    return False


def _worth_keeping(info: ClassInfo) -> bool:
    """Whether a class says anything a table keeps: model inputs, text insertion, input
    files, its own validation, or a layout with written lists."""
    return bool(
        info.model_inputs or info.inserts_text or info.input_files or info.validated or info.layout
    )


def _loader(node_type: str, info: ClassInfo) -> LearnedLoader:
    return LearnedLoader(
        node_type,
        info.widgets or (),
        info.model_inputs,
        wraps=None,
        source=info.source,
        folder_inputs=info.folder_inputs,
        input_files=info.input_files,
        validated=info.validated,
        layout=info.layout,
    )


def _from_class(
    node_type: str, class_name: str, index: PackIndex, depth: int
) -> LearnedLoader | None:
    if depth > MAX_DEPTH:
        return None
    candidates = index.classes.get(class_name)
    if not candidates:
        return None
    # The same class name in several files: prefer one that declares model inputs.
    info = next((c for c in candidates if c.model_inputs), None) or candidates[0]
    if info.layout and (len(candidates) > 1 or class_name in index.patched):
        # Which of the definitions ComfyUI runs, or what a patch changes, is not read.
        info = replace(info, layout=())
    if info.widgets is not None:
        if _worth_keeping(info):
            return _loader(node_type, info)
        if info.inherits_inputs_of is not None:
            base = _from_class(node_type, info.inherits_inputs_of, index, depth + 1)
            if base is not None:
                return LearnedLoader(
                    node_type,
                    base.widgets + tuple(w for w in info.widgets if w not in base.widgets),
                    base.model_inputs,
                    wraps=base.wraps,
                    source=base.source,
                    folder_inputs=base.folder_inputs,
                )
            return LearnedLoader(
                node_type, (), (), wraps=info.inherits_inputs_of, source=info.source
            )
        return None
    for base_name in info.bases:
        if base_name in index.classes and base_name != class_name:
            found = _from_class(node_type, base_name, index, depth + 1)
            if found is not None:
                return found
        elif base_name not in _IGNORED_BASES:
            # A subclass of a class defined elsewhere (a core loader): it copies its inputs.
            return LearnedLoader(node_type, (), (), wraps=base_name, source=info.source)
    return None


_IGNORED_BASES = frozenset(
    {
        *("object", "ABC", "ComfyNode", "Enum", "dict", "str", "Exception", "NamedTuple"),
        # Model code packs vendor (torch, transformers, diffusers): never a node.
        *("Module", "ModuleList", "Sequential", "PreTrainedModel", "ModelMixin"),
        *("GradientCheckpointingLayer", "Dataset", "ConfigMixin", "Function"),
    }
)
