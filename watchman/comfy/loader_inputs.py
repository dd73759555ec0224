"""What one widget input of a node class records, once its listing is read: a model
input (and whether its values are folders), a prompt combo that only inserts a tag, or
an input whose folders a helper of another file may still give.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`); one file's
classes are read by :mod:`watchman.comfy.loader_file` into the :class:`ClassInfo` here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from watchman.comfy.folders import MODEL_EXTENSIONS
from watchman.comfy.loader_bindings import SELF_NAMES
from watchman.comfy.loader_expressions import FOLDER_PATH_CALLS, LIST_CALLS
from watchman.comfy.loader_names import TextCall
from watchman.comfy.loader_scope import MAX_STEPS, Scope
from watchman.comfy.loader_trace import opens_as_folder
from watchman.comfy.loader_use import folder_loaded_as
from watchman.comfy.python_source import syntax_nodes
from watchman.comfy.static_sockets import WrittenSockets
from watchman.comfy.syntax_literals import call_name, constant_text, is_name, last_name
from watchman.comfy.widget_layout import WidgetSlot


@dataclass
class ClassInfo:
    name: str
    source: str
    bases: tuple[str, ...]
    widgets: tuple[str, ...] | None  # None: no INPUT_TYPES / schema of its own
    model_inputs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    folder_inputs: tuple[str, ...] = ()  # model inputs listing folders, not files
    inherits_inputs_of: str | None = None  # INPUT_TYPES built on Base.INPUT_TYPES()
    # A folder listing only to insert text (below): known to load no file from it.
    inserts_text: bool = False
    # Inputs its validation resolves in ComfyUI's input folder (comfy/validated_inputs).
    input_files: tuple[str, ...] = ()
    # The inputs its validation method takes ("**": all): ComfyUI leaves their list
    # check to it (comfy/validated_inputs).
    validated: tuple[str, ...] = ()
    # Its widget layout, when a list input's choices are written in INPUT_TYPES
    # (comfy/static_layout): the offline check of list values.
    layout: tuple[WidgetSlot, ...] = ()
    # The required inputs only a link can give, and those of a listed type, when
    # INPUT_TYPES or the schema writes them in place (comfy/static_sockets; None: not
    # known), and what its own OUTPUT_NODE or is_output_node says (None: not written).
    sockets: WrittenSockets | None = None
    output_node: bool | None = None
    # What its links carry, as its own body writes it (comfy/static_link_types): its
    # outputs' types (None: not written, or not read), its inputs' declared types (None:
    # its INPUT_TYPES or schema is not written in place), and whether its own validation
    # takes input_types (None: it has no validation of its own).
    return_types: tuple[str, ...] | None = None
    input_types: tuple[tuple[str, str], ...] | None = None
    validates_types: bool | None = None
    # What the class holds is more than its body read here writes: a class decorator or
    # a metaclass may set attributes, or the name is defined twice (Python keeps the
    # last, the reader the first). Its OUTPUT_NODE is then not known from the body.
    body_unsure: bool = False
    # Widget inputs whose choices come from calls this file cannot follow (a helper
    # imported from another file of the pack): input name, the calls' registry keys.
    pending: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    attributes: dict[str, ast.expr] = field(default_factory=dict)
    # Class attributes holding text, or a helper call giving it (NAME = get_name("X")),
    # for mappings keyed by Cls.NAME.
    texts: dict[str, str | TextCall] = field(default_factory=dict)


def _run_method(scope: Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    # The class's FUNCTION (classic nodes), else execute (v3 nodes).
    named = scope.class_bindings.get("FUNCTION")
    return scope.methods.get((constant_text(named[-1]) or "") if named else "execute")


def opens_as_folder_in(scope: Scope, input_name: str) -> bool:
    """Whether the method the node runs uses the input's value as a folder."""
    method = _run_method(scope)
    return method is not None and opens_as_folder(method, input_name)


def loaded_folder_in(scope: Scope, input_name: str, choices: ast.expr | None) -> tuple[str, ...]:
    """The folder of a combo whose ``choices`` (an expression the extractor could not
    read as a listing) the node's method hands to a ComfyUI loading call
    (:func:`~watchman.comfy.loader_use.folder_loaded_as`); () for literal choices and
    type names (``"STRING"``)."""
    if isinstance(choices, ast.Name):
        bound = scope.lookup(choices.id)
        if bound and isinstance(bound[-1], (ast.List, ast.Tuple, ast.Constant)):
            return ()  # CLIP_TYPES = ["flux", ...]: fixed choices, no file
    if not isinstance(choices, (ast.Name, ast.Call, ast.Attribute, ast.BinOp, ast.ListComp)):
        return ()
    method = _run_method(scope)
    folder = folder_loaded_as(method, input_name) if method is not None else ""
    return (folder,) if folder else ()


def inserts_text(input_name: str) -> bool:
    # Impact's wildcard widgets "Select to add LoRA" (copied by Easy-Use and others) and
    # rgthree's Power Prompt "insert_lora" / "insert_embedding" list a folder only to
    # insert a <lora:...> or embedding: tag into the text, whose tags are read; the combo
    # itself loads nothing and keeps a placeholder ("CHOOSE") as its value.
    return input_name.startswith(("Select to add", "insert_"))


def take_input(
    info: ClassInfo,
    name: str,
    folders: tuple[str, ...],
    lists_folders: bool,
    model_inputs: list[tuple[str, tuple[str, ...]]],
    folder_inputs: list[str],
) -> bool:
    """Record one widget input of a class (classic ``INPUT_TYPES`` or V3 schema alike): a
    prompt text that inserts files, a model input (and a folder-valued one, when its
    listing keeps directories); return True when it names no folder and is not such a
    text, so its folders may still come from a helper read later (the caller defers it)."""
    if folders and inserts_text(name):
        info.inserts_text = True
    elif folders:
        model_inputs.append((name, folders))
        if lists_folders:
            folder_inputs.append(name)
    else:
        return not inserts_text(name)
    return False


def root_helper_keys(first: ast.expr, scope: Scope, depth: int = 3) -> list[str]:
    """Registry keys ``"helper(folder)"`` for calls, in an input's expression or in the
    methods and functions of this file it calls (``depth`` levels down), of a function
    this file does not define, given a folder's name (comfy_mtb's
    ``get_model_path("insightface")`` from its utils.py), when the code read there names
    a model extension: the listing it builds on that root lists model files.
    :func:`~watchman.comfy.loader_source.learn_loaders` answers them from the pack's root
    helpers (``PackIndex.root_helpers``)."""
    read: list[ast.AST] = [first]
    calls: list[tuple[str, str]] = []
    level_bodies: list[ast.AST] = [first]
    budget = MAX_STEPS
    for level in range(depth + 1):
        reached: list[ast.AST] = []
        for body in level_bodies:
            for node in syntax_nodes(body):
                budget -= 1
                if budget < 0:
                    return []
                if not isinstance(node, ast.Call):
                    continue
                called = _local_callee(node, scope)
                if called is not None:
                    if level < depth and all(called is not done for done in read):
                        read.append(called)
                        reached.append(called)
                elif isinstance(node.func, ast.Name) and node.args:
                    folder = constant_text(node.args[0])
                    if folder and (node.func.id, folder) not in calls:
                        calls.append((node.func.id, folder))
        level_bodies = reached
    if not calls or not any(_names_model_extension(body) for body in read):
        return []
    return [f"{name}({folder})" for name, folder in calls]


def _local_callee(call: ast.Call, scope: Scope) -> ast.AST | None:
    """The module function or class method of this file a call runs, if any."""
    if isinstance(call.func, ast.Name):
        return scope.functions.get(call.func.id)
    if (
        isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in SELF_NAMES
    ):
        return scope.methods.get(call.func.attr)
    return None


def _names_model_extension(node: ast.AST) -> bool:
    for inner in syntax_nodes(node):
        text = constant_text(inner) if isinstance(inner, ast.Constant) else None
        dot = text.rfind(".") if text else -1
        if text and dot != -1 and text[dot:].lower() in MODEL_EXTENSIONS:
            return True
    return False


def takes_root_of_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function gives the root of the folder its first parameter names:
    ``get_folder_paths(p)`` / ``get_filename_list(p)``, or ``models_dir`` joined with
    ``p`` (``os.path.join(models_dir, p)``, ``models_dir / p``)."""
    parameters = function.args.posonlyargs + function.args.args
    if not parameters:
        return False
    first = parameters[0].arg
    for node in syntax_nodes(function):
        if isinstance(node, ast.Call) and node.args and is_name(node.args[-1], first):
            if call_name(node) in LIST_CALLS | FOLDER_PATH_CALLS and len(node.args) == 1:
                return True
            if call_name(node) == "join" and last_name(node.args[0]) == "models_dir":
                return True
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and last_name(node.left) == "models_dir"
            and is_name(node.right, first)
        ):
            return True
    return False
