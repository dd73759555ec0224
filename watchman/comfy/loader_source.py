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
and one file that does not parse or exceeds a bound is that file's problem only.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from watchman.comfy.folders import listed_folder
from watchman.comfy.loader_expressions import (
    DIRECTORY_CALLS,
    FOLDER_PATH_CALLS,
    LIST_CALLS,
    call_keys,
    function_folders,
    input_kind,
    input_types_call,
    v3_input,
)
from watchman.comfy.loader_names import (
    TextCall,
    TextHelper,
    attribute_text,
    call_text,
    text_helper,
)
from watchman.comfy.loader_scope import (
    MAX_DEPTH,
    MAX_STEPS,
    Items,
    Scope,
    bind_statement,
    call_name,
    constant_text,
    dict_items,
    is_name,
    item_assignments,
    last_name,
    list_items,
)
from watchman.comfy.python_source import PARSE_ERRORS, parse_failure, syntax_nodes

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
    ``os.walk`` finds), sorted.
    """

    node_type: str
    widgets: tuple[str, ...]
    model_inputs: tuple[tuple[str, tuple[str, ...]], ...]
    wraps: str | None = None
    source: str = ""
    folder_inputs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict that :meth:`from_json` reads back (``folder_inputs``
        only when there are some, so older documents read the same)."""
        document: dict[str, object] = {
            "node_type": self.node_type,
            "widgets": list(self.widgets),
            "model_inputs": {name: list(folders) for name, folders in self.model_inputs},
            "wraps": self.wraps,
            "source": self.source,
        }
        if self.folder_inputs:
            document["folder_inputs"] = list(self.folder_inputs)
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
        if not isinstance(folder_inputs, list):
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
        )


@dataclass
class _ClassInfo:
    name: str
    source: str
    bases: tuple[str, ...]
    widgets: tuple[str, ...] | None  # None: no INPUT_TYPES / schema of its own
    model_inputs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    folder_inputs: tuple[str, ...] = ()  # model inputs listing folders, not files
    inherits_inputs_of: str | None = None  # INPUT_TYPES built on Base.INPUT_TYPES()
    # A folder listing only to insert text (below): known to load no file from it.
    inserts_text: bool = False
    # Widget inputs whose choices come from calls this file cannot follow (a helper
    # imported from another file of the pack): input name, the calls' registry keys.
    pending: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    attributes: dict[str, ast.expr] = field(default_factory=dict)
    # Class attributes holding text, or a helper call giving it (NAME = get_name("X")),
    # for mappings keyed by Cls.NAME.
    texts: dict[str, str | TextCall] = field(default_factory=dict)


@dataclass
class _PackIndex:
    classes: dict[str, list[_ClassInfo]] = field(default_factory=dict)
    # (node type, class name it maps to, wrapped node type or None, source, group)
    entries: list[tuple[str, str | None, str | None, str, str]] = field(default_factory=list)
    # Groups (one dict literal, or one mapping name) known to map node types to classes.
    node_groups: set[str] = field(default_factory=set)
    v3: dict[str, _ClassInfo] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Pack-wide listing helpers: "helper" / "Class.method" -> the folders it lists, or
    # None when two files define the name with different folders.
    helpers: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    # Pack-wide helpers returning text (rgthree's get_name), None when ambiguous.
    text_helpers: dict[str, TextHelper | None] = field(default_factory=dict)
    # Mapping items keyed by a class attribute (Cls.NAME) this file could not read:
    # (class, attribute, class name, wrapped node type, source, group).
    attribute_keys: list[tuple[str, str, str | None, str | None, str, str]] = field(
        default_factory=list
    )


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.left = nodes

    def spend(self, count: int = 1) -> bool:
        self.left -= count
        return self.left >= 0


def learn_loaders(
    files: Iterable[tuple[str, bytes]],
) -> tuple[tuple[LearnedLoader, ...], tuple[str, ...]]:
    """Return the loaders a pack's Python files declare, and the problems met.

    Takes ``(relative path, source bytes)`` pairs of one pack (read lazily, in order).
    Returns the learned loaders sorted by node type (only node types with at least one
    input listing a model folder, or one listing it only to insert text, which load no
    file, or wrapping another node type) and one sentence per
    file that could not be read or per bound reached. Never raises for any content.
    """
    index = _PackIndex()
    budget = _Budget(MAX_SYNTAX_NODES)
    total = 0
    helper_files: list[tuple[str, bytes]] = []
    for relative, data in files:
        if len(data) > MAX_FILE_BYTES:
            index.problems.append(f"{relative}: {len(data)} bytes is over the file limit.")
            continue
        total += len(data)
        if total > MAX_PACK_BYTES:
            index.problems.append(f"{relative}: the pack's source limit was reached; not read.")
            break
        if any(marker in data for marker in _NODE_MARKERS):
            if not _read_file(relative, data, index, budget):
                break
        elif any(marker in data for marker in _LISTING_MARKERS):
            helper_files.append((relative, data))
        elif len(data) <= MAX_TEXT_HELPER_FILE_BYTES and b"return" in data:
            helper_files.append((relative, data))  # may define a name-building helper
    # A file that declares no node but lists a folder may hold helpers that node files
    # import (from .utils import get_models): read only those defining a name some
    # input still waits for.
    wanted = {
        key.rsplit(".", 1)[-1].encode()
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
        if needed and not _read_file(relative, data, index, budget):
            break
    return _join(index), tuple(index.problems)


def _read_file(relative: str, data: bytes, index: _PackIndex, budget: _Budget) -> bool:
    """Read one file into ``index``; False when the pack's syntax budget is spent."""
    try:
        tree = ast.parse(data, filename=relative)
    except PARSE_ERRORS as error:
        index.problems.append(f"{relative}: does not parse as Python ({parse_failure(error)}).")
        return True
    nodes = syntax_nodes(tree)  # counted for the budget, then read (one walk)
    if not budget.spend(len(nodes)):
        index.problems.append(f"{relative}: the pack's syntax budget was spent; not read.")
        return False
    try:
        _FileReader(tree, relative, index).read(nodes)
    except (RecursionError, MemoryError) as error:
        index.problems.append(f"{relative}: too deeply nested to read ({error!r}).")
    return True


def _resolve_pending(index: _PackIndex) -> None:
    """Give deferred inputs the folders the pack's helpers list (see ``_defer``)."""
    infos = [info for infos in index.classes.values() for info in infos]
    for info in [*infos, *index.v3.values()]:
        pending, info.pending = info.pending, []
        added: list[tuple[str, tuple[str, ...]]] = []
        for name, keys in pending:
            folders: list[str] = []
            for key in keys:
                for folder in index.helpers.get(key) or ():
                    if folder not in folders:
                        folders.append(folder)
            if folders:
                added.append((name, tuple(folders)))
        if added:
            info.model_inputs = (*info.model_inputs, *added)


def _join(index: _PackIndex) -> tuple[LearnedLoader, ...]:
    _resolve_pending(index)
    _resolve_attribute_keys(index)
    loaders: dict[str, LearnedLoader] = {}
    for node_type, info in index.v3.items():
        if info.model_inputs or info.inserts_text:
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
                and _looks_like_class(class_name)
            ):
                # A class imported from elsewhere (ComfyUI's nodes, another pack).
                wrapped = class_name
        if learned is None and wrapped is not None:
            inner = _from_class(node_type, wrapped, index, 0) if wrapped in index.classes else None
            learned = inner or LearnedLoader(node_type, (), (), wraps=wrapped, source=source)
        if learned is not None:
            loaders[node_type] = learned
    return tuple(loaders[name] for name in sorted(loaders))


def _resolve_attribute_keys(index: _PackIndex) -> None:
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


def _is_node_class(name: str, index: _PackIndex, depth: int) -> bool:
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
            elif _looks_like_class(base):
                return True  # a subclass of a core loader: it copies its inputs
    return False


def _loader(node_type: str, info: _ClassInfo) -> LearnedLoader:
    return LearnedLoader(
        node_type,
        info.widgets or (),
        info.model_inputs,
        wraps=None,
        source=info.source,
        folder_inputs=info.folder_inputs,
    )


def _from_class(
    node_type: str, class_name: str, index: _PackIndex, depth: int
) -> LearnedLoader | None:
    if depth > MAX_DEPTH:
        return None
    candidates = index.classes.get(class_name)
    if not candidates:
        return None
    # The same class name in several files: prefer one that declares model inputs.
    info = next((c for c in candidates if c.model_inputs), None) or candidates[0]
    if info.widgets is not None:
        if info.model_inputs or info.inserts_text:
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


LISTING_CALLS = LIST_CALLS | FOLDER_PATH_CALLS | DIRECTORY_CALLS

# A file naming none of these declares no node: it is parsed only for helpers (below).
_NODE_MARKERS = (b"INPUT_TYPES", b"node_id", b"MAPPINGS")
_LISTING_MARKERS = (b"get_filename_list", b"get_folder_paths", b"models_dir")

_IGNORED_BASES = frozenset(
    {
        *("object", "ABC", "ComfyNode", "Enum", "dict", "str", "Exception", "NamedTuple"),
        # Model code packs vendor (torch, transformers, diffusers): never a node.
        *("Module", "ModuleList", "Sequential", "PreTrainedModel", "ModelMixin"),
        *("GradientCheckpointingLayer", "Dataset", "ConfigMixin", "Function"),
    }
)


class _FileReader:
    """Reads one syntax tree into the pack index."""

    def __init__(self, tree: ast.Module, source: str, index: _PackIndex) -> None:
        self.tree = tree
        self.source = source
        self.index = index
        self.module_bindings: dict[str, list[ast.expr]] = {}
        self.module_items: Items = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.class_nodes: dict[str, ast.ClassDef] = {}

    def read(self, nodes: Iterable[ast.AST]) -> None:
        """Read the tree's classes and node mappings; ``nodes`` are all of its nodes in
        ``ast.walk`` order."""
        for statement in self.tree.body:
            bind_statement(statement, self.module_bindings)
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[statement.name] = statement
        for name, function in self.functions.items():
            helper = text_helper(function, self.module_bindings)
            if helper is not None:
                held = self.index.text_helpers.get(name, helper)
                same = held is not None and held.same_as(helper)
                self.index.text_helpers[name] = helper if same else None
        # One walk of the tree, not three (it was two thirds of a cold node inventory):
        # the later passes see the same nodes in the same order.
        statements: list[ast.Assign | ast.Call | ast.Dict] = []
        listing_lines: list[int] = []
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                self.class_nodes.setdefault(node.name, node)
            elif isinstance(node, (ast.Assign, ast.Call, ast.Dict)):
                statements.append(node)
                if isinstance(node, ast.Call) and call_name(node) in LISTING_CALLS:
                    listing_lines.append(node.lineno)
        module_scope = Scope(self.module_bindings, self.functions, frozenset(self.class_nodes))
        self.module_items = item_assignments(self.tree.body, module_scope)
        module_scope.module_items = self.module_items
        self._register_helpers(module_scope, listing_lines)
        for name, class_node in self.class_nodes.items():
            info = self._class_info(class_node)
            self.index.classes.setdefault(name, []).append(info)
        mapping_groups: dict[str, str] = {}
        for node in statements:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                for target in node.targets:
                    target_name = last_name(target)
                    if target_name is not None and "MAPPINGS" in target_name.upper():
                        self.index.node_groups.add(self._group(node.value))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = last_name(node.func.value) or ""
                if node.func.attr == "update" and "MAPPINGS" in owner.upper():
                    for argument in node.args:
                        self.index.node_groups.add(self._group(argument))
        for node in statements:
            if isinstance(node, ast.Dict):
                self._mapping_dict(node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Subscript):
                        owner = last_name(target.value) or ""
                        group = mapping_groups.setdefault(owner, self._group(target))
                        if "MAPPINGS" in owner.upper():
                            self.index.node_groups.add(group)
                        self._mapping_item(target.slice, node.value, group)

    # --- bindings -------------------------------------------------------------------

    # --- classes --------------------------------------------------------------------

    def _class_info(self, class_node: ast.ClassDef) -> _ClassInfo:
        attributes: dict[str, ast.expr] = {}
        class_bindings: dict[str, list[ast.expr]] = {}
        methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for statement in class_node.body:
            bind_statement(statement, class_bindings)
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods[statement.name] = statement
        texts: dict[str, str | TextCall] = {}
        for name, values in class_bindings.items():
            attributes[name] = values[-1]
            if name.isupper():  # NAME, NODE_NAME: the attributes mappings are keyed by
                text = attribute_text(values[-1], self.module_bindings)
                if text is not None:
                    texts[name] = text
        info = _ClassInfo(
            name=class_node.name,
            source=self.source,
            bases=tuple(
                self._node_type_of(name)
                for name in (last_name(base) for base in class_node.bases)
                if name
            ),
            widgets=None,
            attributes=attributes,
            texts=texts,
        )
        for base_name in info.bases:
            base_node = self.class_nodes.get(base_name)
            for statement in base_node.body if base_node is not None else ():
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    methods.setdefault(statement.name, statement)
        scope = Scope(
            self.module_bindings,
            self.functions,
            frozenset(self.class_nodes),
            class_bindings,
            {},
            methods,
            module_items=self.module_items,
        )
        if "INPUT_TYPES" in methods:
            self._read_input_types(methods["INPUT_TYPES"], info, scope)
        elif "define_schema" in methods:
            self._read_schema(methods["define_schema"], info, scope)
        return info

    def _register_helpers(self, module_scope: Scope, listing_lines: list[int]) -> None:
        """Record what this file's module functions and class methods list, for inputs
        of other files that call them (``from .utils import get_models``). Only those
        holding a listing call themselves (``listing_lines``) are read."""

        def lists(node: ast.stmt) -> bool:
            last = getattr(node, "end_lineno", None) or node.lineno
            return any(node.lineno <= line <= last for line in listing_lines)

        if not listing_lines:
            return
        owners: list[tuple[str, list[ast.stmt], dict[str, list[ast.expr]]]] = [
            ("", self.tree.body, {})
        ]
        for class_name, class_node in self.class_nodes.items():
            if lists(class_node):
                class_bindings: dict[str, list[ast.expr]] = {}
                for statement in class_node.body:
                    bind_statement(statement, class_bindings)
                owners.append((class_name + ".", class_node.body, class_bindings))
        for prefix, body, class_bindings in owners:
            methods = {
                statement.name: statement
                for statement in body
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            scope = Scope(
                self.module_bindings,
                self.functions,
                module_scope.class_names,
                class_bindings,
                {},
                methods if prefix else {},
                module_items=self.module_items,
            )
            for name, function in methods.items():
                if name in ("INPUT_TYPES", "define_schema") or not lists(function):
                    continue
                call = ast.Call(func=ast.Name(id=name), args=[], keywords=[])
                scope.steps[0] = MAX_STEPS
                folders = tuple(
                    dict.fromkeys(
                        listed_folder(folder)
                        for folder in function_folders(function, scope.inside(function, call), 0)
                    )
                )
                if folders:
                    key = prefix + name
                    held = self.index.helpers.get(key, folders)
                    self.index.helpers[key] = folders if held == folders else None

    def _node_type_of(self, name: str) -> str:
        """The node type a base class name stands for: a name bound to another pack's
        mapping entry (``Loader = nodes["Efficient Loader"]``) is that node type."""
        bound = self.module_bindings.get(name)
        if bound and isinstance(bound[-1], ast.Subscript):
            key = constant_text(bound[-1].slice)
            if key is not None:
                return key
        return name

    def _read_input_types(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, info: _ClassInfo, scope: Scope
    ) -> None:
        local = scope.inside(function)
        returned = [
            node.value
            for node in syntax_nodes(function)
            if isinstance(node, ast.Return) and node.value is not None
        ]
        sections: dict[str, list[tuple[str, ast.expr]]] = {"required": [], "optional": []}
        for value in returned:
            target = value
            if isinstance(value, ast.Name):
                bound = local.lookup(value.id)
                target = bound[0] if bound else value
            base = input_types_call(target)
            if base == "super":
                base = info.bases[0] if info.bases else None
            if base is not None:
                info.inherits_inputs_of = self._node_type_of(base)
            if isinstance(target, ast.Dict):
                for key, item in zip(target.keys, target.values, strict=True):
                    section = constant_text(key) if key is not None else None
                    if section in sections:
                        sections[section].extend(dict_items(item, local, 0))
            if isinstance(value, ast.Name):
                # inputs["optional"] = {...}; inputs["optional"][f"lora_{i}"] = (...)
                for section, item in local.items((value.id,)):
                    if section in sections:
                        sections[section].extend(dict_items(item, local, 0))
                for section, items in sections.items():
                    items.extend(local.items((value.id, section)))
            if sections["required"] or sections["optional"]:
                break
        widgets: list[str] = []
        model_inputs: list[tuple[str, tuple[str, ...]]] = []
        folder_inputs: list[str] = []
        for name, spec in [*sections["required"], *sections["optional"]]:
            if name in widgets:
                continue
            kind, folders = input_kind(spec, local)
            if kind == "socket":
                continue
            widgets.append(name)
            if folders and _inserts_text(name):
                info.inserts_text = True
            elif folders:
                model_inputs.append((name, folders))
                if local.trace.lists_folders:
                    folder_inputs.append(name)
            elif not _inserts_text(name):
                self._defer(info, name, spec, local)
        info.widgets = tuple(widgets)
        info.model_inputs = tuple(model_inputs)
        info.folder_inputs = tuple(sorted(folder_inputs))

    def _defer(self, info: _ClassInfo, name: str, spec: ast.expr | None, scope: Scope) -> None:
        # Calls of names this file does not define: a helper of another file may list a
        # folder; the pack-wide registry answers once every file is read.
        first = spec.elts[0] if isinstance(spec, ast.Tuple) and spec.elts else spec
        if not isinstance(first, (ast.Call, ast.BinOp, ast.ListComp, ast.List)):
            return  # ("INT", {...}), ("MODEL",), a name: nothing to follow elsewhere
        keys = [key for key in call_keys(first) if key not in scope.functions]
        for local in call_keys(first):
            # A helper of this file calling one of another file (model_names() building
            # its dict from an imported get_models()): wait for that one too.
            helper = scope.functions.get(local)
            if helper is not None:
                for key in call_keys(helper):
                    if key not in scope.functions and key not in keys:
                        keys.append(key)
        if keys:
            info.pending.append((name, tuple(keys)))

    def _read_schema(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, info: _ClassInfo, scope: Scope
    ) -> None:
        local = scope.inside(function)
        for node in syntax_nodes(function):
            if not isinstance(node, ast.Call):
                continue
            node_id = next((k.value for k in node.keywords if k.arg == "node_id"), None)
            if node_id is None:
                continue
            node_type = constant_text(node_id)
            if node_type is None:
                continue
            inputs = next((k.value for k in node.keywords if k.arg == "inputs"), None)
            required: list[str] = []
            optional: list[str] = []
            model_inputs: list[tuple[str, tuple[str, ...]]] = []
            folder_inputs: list[str] = []
            for item in list_items(inputs, local, 0):
                parsed = v3_input(item, local)
                if parsed is None:
                    continue
                name, is_widget, is_optional, folders = parsed
                if not is_widget:
                    continue
                (optional if is_optional else required).append(name)
                if folders and _inserts_text(name):
                    info.inserts_text = True
                elif folders:
                    model_inputs.append((name, folders))
                    if local.trace.lists_folders:
                        folder_inputs.append(name)
                elif not _inserts_text(name) and isinstance(item, ast.Call):
                    options = next((k.value for k in item.keywords if k.arg == "options"), None)
                    self._defer(info, name, options, local)
            info.widgets = tuple(required + optional)
            info.model_inputs = tuple(model_inputs)
            info.folder_inputs = tuple(sorted(folder_inputs))
            self.index.v3[node_type] = info
            return

    # --- mappings -------------------------------------------------------------------

    def _group(self, node: ast.AST) -> str:
        # Unique while this file's tree is alive; the file name keeps groups of files apart.
        return f"{self.source}:{id(node)}"

    def _mapping_dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                self._mapping_item(key, value, self._group(node))

    def _mapping_item(self, key: ast.expr, value: ast.expr, group: str) -> None:
        node_type = self._key_text(key)
        if node_type == "class":  # the inner dict of a NODE_CONFIG
            return
        if isinstance(value, ast.Dict):
            # {"X": {"class": Cls, "name": "Display"}} (KJNodes' NODE_CONFIG)
            value = next(
                (
                    v
                    for k, v in zip(value.keys, value.values, strict=True)
                    if constant_text(k) == "class"
                ),
                value,
            )
        class_name = last_name(value)
        wrapped = None
        if class_name is None and isinstance(value, ast.Call) and value.args:
            argument = value.args[0]
            if isinstance(argument, ast.Subscript):
                wrapped = constant_text(argument.slice)
            else:
                wrapped = last_name(argument)
            if wrapped is not None and not _looks_like_class(wrapped):
                wrapped = None
        if class_name is None and wrapped is None:
            return
        if node_type is not None:
            self.index.entries.append((node_type, class_name, wrapped, self.source, group))
        elif isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name):
            # {Cls.NAME: Cls} with Cls (or its NAME's helper) in another file.
            self.index.attribute_keys.append(
                (key.value.id, key.attr, class_name, wrapped, self.source, group)
            )

    def _key_text(self, key: ast.expr) -> str | None:
        text = constant_text(key)
        if text is not None:
            return text
        if isinstance(key, ast.Name):
            bound = self.module_bindings.get(key.id)
            return constant_text(bound[-1]) if bound else None
        if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name):
            class_node = self.class_nodes.get(key.value.id)
            if class_node is not None:
                for statement in class_node.body:
                    if isinstance(statement, ast.Assign) and any(
                        is_name(t, key.attr) for t in statement.targets
                    ):
                        return constant_text(statement.value)
        return None


def _inserts_text(input_name: str) -> bool:
    # Impact's wildcard widgets "Select to add LoRA" (copied by Easy-Use and others) and
    # rgthree's Power Prompt "insert_lora" / "insert_embedding" list a folder only to
    # insert a <lora:...> or embedding: tag into the text, whose tags are read; the combo
    # itself loads nothing and keeps a placeholder ("CHOOSE") as its value.
    return input_name.startswith(("Select to add", "insert_"))


def _looks_like_class(name: str) -> bool:
    # Node classes are named in CapWords; lower-case names are values (device, dtype).
    return name[:1].isupper()
