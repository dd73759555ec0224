"""Reading one file of a node pack into the pack's index: its classes (inputs, bases,
helpers), its node mappings and the listing helpers other files may call. Nothing is
imported or run: one syntax tree is read.

Part of :mod:`watchman.comfy.loader_source`, which reads a pack's files in turn, within
its bounds, and joins what they say into learned loaders.
"""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from watchman.comfy.folders import listed_folder
from watchman.comfy.loader_bindings import bind_statement
from watchman.comfy.loader_calls import call_keys, input_types_call
from watchman.comfy.loader_directories import DIRECTORY_CALLS
from watchman.comfy.loader_expressions import FOLDER_PATH_CALLS, LIST_CALLS, function_folders
from watchman.comfy.loader_input_kinds import input_kind, v3_input
from watchman.comfy.loader_inputs import (
    ClassInfo,
    loaded_folder_in,
    opens_as_folder_in,
    root_helper_keys,
    take_input,
    takes_root_of_parameter,
)
from watchman.comfy.loader_mappings import MappingReader
from watchman.comfy.loader_names import (
    TextCall,
    TextHelper,
    attribute_text,
    text_helper,
)
from watchman.comfy.loader_scope import (
    MAX_STEPS,
    Items,
    Scope,
    dict_items,
    item_assignments,
    list_items,
)
from watchman.comfy.number_ranges import Bound
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.sampler_lists import shared_list_key
from watchman.comfy.static_layout import (
    CORE_NODES_FILE,
    attribute_list,
    module_constants,
    plainly_imported,
    static_slots,
    surely_socket,
    v3_layout,
    written_sections,
)
from watchman.comfy.static_link_types import (
    takes_input_types,
    v3_inputs,
    v3_outputs,
    written_inputs,
    written_outputs,
)
from watchman.comfy.static_sockets import v3_sockets, written_output, written_sockets
from watchman.comfy.syntax_literals import call_name, constant_text, last_name
from watchman.comfy.validated_inputs import (
    validated_input_files,
    validation_method,
    validation_parameters,
)
from watchman.comfy.widget_layout import WidgetSlot, shared_slot


@dataclass
class PackIndex:
    classes: dict[str, list[ClassInfo]] = field(default_factory=dict)
    # (node type, class name it maps to, wrapped node type or None, source, group)
    entries: list[tuple[str, str | None, str | None, str, str]] = field(default_factory=list)
    # Groups (one dict literal, or one mapping name) known to map node types to classes.
    node_groups: set[str] = field(default_factory=set)
    v3: dict[str, ClassInfo] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Pack-wide listing helpers: "helper" / "Class.method" -> the folders it lists, or
    # None when two files define the name with different folders.
    helpers: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    # The helpers above whose entries are folders, not files (their listing is kept to
    # directories), in every file defining them.
    folder_helpers: set[str] = field(default_factory=set)
    # Module functions whose first parameter names the folder whose root they give
    # (comfy_mtb's get_model_path(fam): get_folder_paths(fam), else models_dir / fam).
    root_helpers: dict[str, bool] = field(default_factory=dict)
    # Pack-wide helpers returning text (rgthree's get_name), None when ambiguous.
    text_helpers: dict[str, TextHelper | None] = field(default_factory=dict)
    # Mapping items keyed by a class attribute (Cls.NAME) this file could not read:
    # (class, attribute, class name, wrapped node type, source, group).
    attribute_keys: list[tuple[str, str, str | None, str | None, str, str]] = field(
        default_factory=list
    )
    # Class names some file of the pack assigns INPUT_TYPES or a validation method to, or
    # hands to setattr: their source's layout may not be what ComfyUI runs.
    patched: set[str] = field(default_factory=set)
    # Names any class of the pack derives from (a v3 node's subclass shares its node_id).
    subclassed: set[str] = field(default_factory=set)
    # How many classes of the pack define each v3 node_id (one layout only for one).
    v3_defined: dict[str, int] = field(default_factory=dict)
    # Whether some file may change ComfyUI's sampler or scheduler lists (sampler_lists.py).
    changes_sampler_lists: bool = False
    # Whether the files are ComfyUI's own (nodes.py, comfy_extras...): there ``import
    # nodes`` is ComfyUI's nodes.py, whose constants (MAX_RESOLUTION) a bound may name.
    core: bool = False
    core_constants: dict[str, Bound] = field(default_factory=dict)


LISTING_CALLS = LIST_CALLS | FOLDER_PATH_CALLS | DIRECTORY_CALLS

# A file naming none of these declares no node: it is parsed only for helpers (below).
NODE_MARKERS = (b"INPUT_TYPES", b"node_id", b"MAPPINGS")
LISTING_MARKERS = (b"get_filename_list", b"get_folder_paths", b"models_dir")


class FileReader(MappingReader):
    """Reads one syntax tree into the pack index."""

    def __init__(self, tree: ast.Module, source: str, index: PackIndex) -> None:
        self.tree = tree
        self.source = source
        self.index = index
        self.module_bindings: dict[str, list[ast.expr]] = {}
        self.module_items: Items = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.class_nodes: dict[str, ast.ClassDef] = {}
        self.class_names: frozenset[str] = frozenset()
        # Names bound once to a written number: the bounds a number input may name.
        self.constants: dict[str, Bound] = {}

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
        statements: list[ast.AST] = []
        listing_lines: list[int] = []
        defined: dict[str, int] = {}
        rebound: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Global):
                rebound.update(node.names)
            elif isinstance(node, ast.ClassDef):
                self.class_nodes.setdefault(node.name, node)
                defined[node.name] = defined.get(node.name, 0) + 1
            elif isinstance(node, (ast.Assign, ast.Call, ast.Dict, ast.For, ast.DictComp)):
                statements.append(node)
                if isinstance(node, ast.Call) and call_name(node) in LISTING_CALLS:
                    listing_lines.append(node.lineno)
        # Once per file: a set per class made a file of many classes cost their square.
        self.class_names = frozenset(self.class_nodes)
        self.constants = module_constants(self.tree, self.module_bindings, rebound)
        if self.index.core and self.source == CORE_NODES_FILE:
            self.index.core_constants = dict(self.constants)
        elif self.index.core_constants and plainly_imported(
            self.tree, "nodes", self.module_bindings, rebound
        ):
            # comfy_extras' ``"max": nodes.MAX_RESOLUTION``, read after nodes.py.
            for name, value in self.index.core_constants.items():
                self.constants["nodes." + name] = value
        module_scope = Scope(self.module_bindings, self.functions, self.class_names)
        self.module_items = item_assignments(self.tree.body, module_scope)
        module_scope.module_items = self.module_items
        self._register_helpers(module_scope, listing_lines)
        for name, class_node in self.class_nodes.items():
            info = self._class_info(class_node)
            if defined[name] > 1:
                # Python keeps the last definition; the reader, the first.
                info.layout, info.sockets, info.output_node = (), None, None
                info.return_types = info.input_types = None
                info.body_unsure = True
            self.index.classes.setdefault(name, []).append(info)
        self.read_mappings(statements)

    # --- bindings -------------------------------------------------------------------

    # --- classes --------------------------------------------------------------------

    def _class_info(self, class_node: ast.ClassDef) -> ClassInfo:
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
        info = ClassInfo(
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
        # Bound more than once (in an if and its else, say): which one holds is not read.
        if len(class_bindings.get("OUTPUT_NODE", ())) == 1:
            info.output_node = written_output(attributes["OUTPUT_NODE"])
        info.body_unsure = bool(class_node.decorator_list or class_node.keywords)
        # The required sockets are read off the class's own INPUT_TYPES (a base's may
        # read the subclass's attributes), bound once, under no class decorator.
        own_input_types = (
            not class_node.decorator_list
            and len(class_bindings.get("INPUT_TYPES", ())) <= 1
            and isinstance(methods.get("INPUT_TYPES"), ast.FunctionDef)
        )
        # Only a base written as a bare name can be this file's class: a dotted one
        # (``comfy.samplers.CFGGuider``) is a module's, whatever its last name.
        local_bases = [base.id for base in class_node.bases if isinstance(base, ast.Name)]
        for base_name in local_bases:
            base_node = self.class_nodes.get(base_name)
            for statement in base_node.body if base_node is not None else ():
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    methods.setdefault(statement.name, statement)
        scope = Scope(
            self.module_bindings,
            self.functions,
            self.class_names,
            class_bindings,
            {},
            methods,
            module_items=self.module_items,
        )
        # A layout is read only off a plain class: no decorator, no base but object, and
        # INPUT_TYPES bound once, as a method (a base's or decorator's validation, or an
        # INPUT_TYPES assigned, would make ComfyUI see another one).
        plain = (
            not class_node.decorator_list
            and all(last_name(base) == "object" for base in class_node.bases)
            and len(class_bindings.get("INPUT_TYPES", ())) <= 1
            and isinstance(methods.get("INPUT_TYPES"), ast.FunctionDef)
        )
        validation = validation_method(methods)
        if validation is not None:
            info.validates_types = takes_input_types(validation)
            info.validated = validation_parameters(validation)
            info.input_files = validated_input_files(validation)
        if "define_schema" not in methods and not class_node.decorator_list:
            # A classic class's outputs, also a base's that declares no inputs.
            info.return_types = written_outputs(class_bindings.get("RETURN_TYPES"))
        if "INPUT_TYPES" in methods:
            self._read_input_types(methods["INPUT_TYPES"], info, scope, plain)
            if own_input_types:
                info.sockets = written_sockets(methods["INPUT_TYPES"])
                info.input_types = written_inputs(methods["INPUT_TYPES"])
        elif "define_schema" in methods:
            # As for INPUT_TYPES, a v3 layout is read only off a plain ComfyNode class.
            plain_v3 = (
                not class_node.decorator_list
                and len(class_node.bases) == 1
                and self._is_comfy_node(class_node.bases[0])
                and len(class_bindings.get("define_schema", ())) <= 1
                and isinstance(methods.get("define_schema"), ast.FunctionDef)
            )
            self._read_schema(methods["define_schema"], info, scope, plain_v3)
        return info

    def _is_comfy_node(self, base: ast.expr) -> bool:
        """Whether a base is ComfyUI's own ``io.ComfyNode`` (``io.ComfyNode``,
        ``IO.ComfyNode`` with ``IO`` imported from ``comfy_api`` as ComfyUI's own image
        nodes write it, or ``ComfyNode`` imported from there): a pack's own class of that
        name may add a validation this reading does not see."""
        if isinstance(base, ast.Attribute):
            owner = last_name(base.value)
            return base.attr == "ComfyNode" and (
                owner == "io" or (owner == "IO" and self._from_comfy_api("IO"))
            )
        if not (isinstance(base, ast.Name) and base.id == "ComfyNode"):
            return False
        return self._from_comfy_api("ComfyNode")

    def _from_comfy_api(self, name: str) -> bool:
        """Whether the module binds ``name`` only by importing ComfyUI's ``comfy_api``
        object of that very name, and defines no class of that name."""
        imported = [
            statement
            for statement in self.tree.body
            if isinstance(statement, ast.ImportFrom)
            and any((alias.asname or alias.name) == name for alias in statement.names)
        ]
        return (
            bool(imported)
            and all(
                (statement.module or "").startswith("comfy_api")
                and not statement.level
                and all(
                    alias.name == name
                    for alias in statement.names
                    if (alias.asname or alias.name) == name
                )
                for statement in imported
            )
            and name not in self.class_nodes
        )

    def _register_helpers(self, module_scope: Scope, listing_lines: list[int]) -> None:
        """Record what this file's module functions and class methods list, for inputs
        of other files that call them (``from .utils import get_models``). Only those
        holding a listing call themselves (``listing_lines``) are read."""

        # Sorted, so whether a statement holds one is a binary search: a scan of every
        # listing line per statement made a file of 8,000 loaders cost 5 s.
        lines = sorted(listing_lines)

        def lists(node: ast.stmt) -> bool:
            last = getattr(node, "end_lineno", None) or node.lineno
            first_at_or_after = bisect_left(lines, node.lineno)
            return first_at_or_after < len(lines) and lines[first_at_or_after] <= last

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
                if not prefix and takes_root_of_parameter(function):
                    held_root = self.index.root_helpers.get(name, True)
                    self.index.root_helpers[name] = held_root
                call = ast.Call(func=ast.Name(id=name), args=[], keywords=[])
                scope.steps[0] = MAX_STEPS
                scope.trace.reset()
                folders = tuple(
                    dict.fromkeys(
                        listed_folder(folder)
                        for folder in function_folders(function, scope.inside(function, call), 0)
                    )
                )
                if folders:
                    key = prefix + name
                    known = key in self.index.helpers
                    held = self.index.helpers.get(key, folders)
                    self.index.helpers[key] = folders if held == folders else None
                    lists_folders = scope.trace.lists_folders
                    if lists_folders and not known:
                        self.index.folder_helpers.add(key)
                    elif not lists_folders:
                        self.index.folder_helpers.discard(key)

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
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        info: ClassInfo,
        scope: Scope,
        plain: bool = False,
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
        slots: list[WidgetSlot] = []
        constants = self._unshadowed(function, local)
        sure = True  # every entry's place in the layout is known
        for name, spec in [*sections["required"], *sections["optional"]]:
            if name in widgets:
                continue
            kind, folders = input_kind(spec, local)
            if kind == "socket":
                if attribute_list(spec):
                    # A list of a module's class (KSampler's samplers): a widget, though
                    # not one whose value names a model; ComfyUI's own sampler and
                    # scheduler lists are the install's (sampler_lists.py).
                    shared = shared_list_key(spec.elts[0]) if isinstance(spec, ast.Tuple) else None
                    slots.append(WidgetSlot(name, "combo", shared=shared))
                else:
                    sure = sure and surely_socket(spec)
                continue
            widgets.append(name)
            slots.extend(static_slots(name, spec, constants))
            lists_folders = local.trace.lists_folders
            if not folders and local.trace.unproven and opens_as_folder_in(scope, name):
                # Every entry of a models directory is offered, and the node opens the
                # value as a folder (ACE-Step's LoRAs): the entries it can load are folders.
                folders = tuple(sorted({listed_folder(f) for f in local.trace.unproven}))
                lists_folders = True
            if not folders and kind == "widget" and isinstance(spec, ast.Tuple) and spec.elts:
                # A combo of a pack's own scanner: the loading call its value goes to.
                folders = loaded_folder_in(scope, name, spec.elts[0])
            if take_input(info, name, folders, lists_folders, model_inputs, folder_inputs):
                self._defer(info, name, spec, local)
        info.widgets = tuple(widgets)
        info.model_inputs = tuple(model_inputs)
        info.folder_inputs = tuple(sorted(folder_inputs))
        if (
            plain
            and sure
            and info.inherits_inputs_of is None
            and any(slot.choices or slot.shared or slot.range for slot in slots)
            and written_sections(function) is not None  # last: it walks the method
        ):
            # Only a layout with a written or shared list, or a range, is worth keeping;
            # one built on another class's inputs is not whole.
            info.layout = tuple(map(shared_slot, slots))

    def _unshadowed(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, local: Scope
    ) -> dict[str, Bound]:
        """The module's constants a method's body reads as such: not those it binds
        itself, nor its parameters."""
        if not self.constants:
            return self.constants
        arguments = function.args
        parameters = {
            argument.arg
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        }
        return {
            name: value
            for name, value in self.constants.items()
            if (owner := name.split(".")[0]) not in local.local_bindings and owner not in parameters
        }

    def _defer(self, info: ClassInfo, name: str, spec: ast.expr | None, scope: Scope) -> None:
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
        keys += [key for key in root_helper_keys(first, scope) if key not in keys]
        if keys:
            info.pending.append((name, tuple(keys)))

    def _read_schema(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        info: ClassInfo,
        scope: Scope,
        plain: bool = False,
    ) -> None:
        local = scope.inside(function)
        nodes = syntax_nodes(function)
        returns = [node for node in nodes if isinstance(node, ast.Return)]
        for node in nodes:
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
                local.trace.reset()  # an input without options reads no listing
                parsed = v3_input(item, local)
                if parsed is None:
                    continue
                name, is_widget, is_optional, folders = parsed
                if not is_widget:
                    continue
                (optional if is_optional else required).append(name)
                lists_folders = local.trace.lists_folders
                if not folders and local.trace.unproven and opens_as_folder_in(scope, name):
                    # As in INPUT_TYPES: entries of a models directory opened as folders.
                    folders = tuple(sorted({listed_folder(f) for f in local.trace.unproven}))
                    lists_folders = True
                if not folders and isinstance(item, ast.Call):
                    options = next((k.value for k in item.keywords if k.arg == "options"), None)
                    folders = loaded_folder_in(scope, name, options)
                if take_input(
                    info, name, folders, lists_folders, model_inputs, folder_inputs
                ) and isinstance(item, ast.Call):
                    options = next((k.value for k in item.keywords if k.arg == "options"), None)
                    self._defer(info, name, options, local)
            info.widgets = tuple(required + optional)
            info.model_inputs = tuple(model_inputs)
            info.folder_inputs = tuple(sorted(folder_inputs))
            if plain and len(returns) == 1 and returns[0].value is node:
                # One return of the schema written in place: the layout ComfyUI converts
                # for the frontend, kept when it has a list worth checking.
                slots = v3_layout(inputs, self._unshadowed(function, local))
                if slots and any(slot.choices or slot.shared or slot.range for slot in slots):
                    info.layout = tuple(map(shared_slot, slots))
                info.sockets = v3_sockets(inputs)
                info.input_types = v3_inputs(inputs)
                outputs = next((k.value for k in node.keywords if k.arg == "outputs"), None)
                info.return_types = v3_outputs(outputs, node.keywords)
                flag = next((k for k in node.keywords if k.arg == "is_output_node"), None)
                if flag is not None:
                    info.output_node = written_output(flag.value)
                elif all(k.arg is not None for k in node.keywords):
                    info.output_node = False  # the Schema's default; no **options to set it
            self.index.v3[node_type] = info
            self.index.v3_defined[node_type] = self.index.v3_defined.get(node_type, 0) + 1
            return
