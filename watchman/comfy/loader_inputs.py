"""What one widget input of a node class records, once its listing is read: a model
input (and whether its values are folders), a prompt combo that only inserts a tag, or
an input whose folders a helper of another file may still give.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`); one file's
classes are read by :mod:`watchman.comfy.loader_file` into the :class:`ClassInfo` here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from watchman.comfy.loader_names import TextCall
from watchman.comfy.loader_scope import Scope, constant_text
from watchman.comfy.loader_trace import opens_as_folder


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
    # Widget inputs whose choices come from calls this file cannot follow (a helper
    # imported from another file of the pack): input name, the calls' registry keys.
    pending: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    attributes: dict[str, ast.expr] = field(default_factory=dict)
    # Class attributes holding text, or a helper call giving it (NAME = get_name("X")),
    # for mappings keyed by Cls.NAME.
    texts: dict[str, str | TextCall] = field(default_factory=dict)


def opens_as_folder_in(scope: Scope, input_name: str) -> bool:
    """Whether the class's ``FUNCTION`` method uses the input's value as a folder."""
    named = scope.class_bindings.get("FUNCTION")
    method = scope.methods.get(constant_text(named[-1]) or "") if named else None
    return method is not None and opens_as_folder(method, input_name)


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
