"""What a directory listing read for one input says about its entries: files, folders, or
only roots whose entries the code around decides; and the marker of names that hold only
the directories of a listing.

Part of reading loaders from source (:mod:`watchman.comfy.loader_source`): the scopes of
:mod:`watchman.comfy.loader_scope` carry one trace, which
:mod:`watchman.comfy.loader_expressions` fills while it reads an input's listing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

DIRECTORY_TESTS = frozenset({"isdir", "is_dir"})
"""Calls that keep only the directories of a listing (``os.path.isdir``, ``Path.is_dir``)."""


class DirectoriesOf(ast.expr):
    """The directories a listing yields, as a name bound by ``for root, dirs, files in
    os.walk(p)`` holds them (``root`` and ``dirs``); never in parsed source."""

    _fields = ("value",)

    def __init__(self, value: ast.expr) -> None:
        super().__init__()
        self.value = value


@dataclass
class ListingTrace:
    """What the listings met while reading one input's folders say its entries are:
    ``filters`` counts the directory filters around the expression being read,
    ``leading`` the leading parts of joined paths (``os.path.join(root, file)``); each
    folder met is noted as listing ``files`` (``get_filename_list``, a models directory
    listing naming a model extension), ``folders`` (a listing kept to directories) or
    only its ``roots`` (``get_folder_paths``, whose entries the listing around decides).
    ``unproven`` holds the folders of models directory listings that keep every entry and
    name no model extension: what they offer only the node's use of the value decides
    (ACE-Step's LoRA loader joins it with the file inside each entry)."""

    filters: int = 0
    leading: int = 0
    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    unproven: set[str] = field(default_factory=set)

    def reset(self) -> None:
        """Forget what the previous input's reading met."""
        self.filters = self.leading = 0
        self.files.clear()
        self.folders.clear()
        self.unproven.clear()

    def note(self, folder: str, listing: str) -> None:
        """Record that ``folder`` was met as a ``files``, ``folders`` or ``roots`` listing
        (roots inside a directory filter list folders). Nothing is noted while the leading
        parts of a joined path are read (``leading``): they hold the entry."""
        if self.leading:
            return
        if listing == "files":
            self.files.add(folder)
        elif listing == "folders" or self.filters:
            self.folders.add(folder)

    @property
    def lists_folders(self) -> bool:
        """Whether the input's values are folder names: some listing was kept to
        directories and none listed files."""
        return bool(self.folders) and not self.files


def tested_directories(test: ast.expr) -> frozenset[str]:
    """The names an ``if`` test, read alone, keeps to directories: those an ``isdir`` /
    ``is_dir`` call outside any ``not`` is about (``if os.path.isdir(os.path.join(p,
    x))``, ``if entry.is_dir()``, also within ``and``). A negated test (``if not
    x.is_dir(): continue``) or one joined by ``or`` keeps none."""
    negated: set[int] = set()
    for node in ast.walk(test):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            negated.update(id(inner) for inner in ast.walk(node.operand))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return frozenset()  # "isdir(p) or p.endswith('.pth')" keeps files too
    names: set[str] = set()
    for node in ast.walk(test):
        if not isinstance(node, ast.Call) or id(node) in negated:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in DIRECTORY_TESTS:
            about: list[ast.AST] = list(node.args)
        elif isinstance(func, ast.Attribute) and func.attr in DIRECTORY_TESTS:
            about = [*node.args, func.value]  # os.path.isdir(x), entry.is_dir()
        else:
            continue
        names.update(n.id for part in about for n in ast.walk(part) if isinstance(n, ast.Name))
    return frozenset(names)


def mentions(node: ast.AST, names: frozenset[str]) -> bool:
    """Whether ``node`` reads one of ``names``."""
    return bool(names) and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


PATH_JOINS = frozenset({"join", "joinpath"})
PARENT_CALLS = frozenset({"dirname"})
"""``os.path.dirname(get_folder_paths("checkpoints")[0])`` is models/, not checkpoints."""


def climbs_above(call: ast.Call, body: list[ast.AST]) -> bool:
    """Whether a function takes the parent directory of what its listing ``call`` gives
    (``os.path.dirname(call)``, also through a name bound to the call): a folder beside
    that root (VibeVoice's ``models/vibevoice/loras`` beside ``checkpoints``), not the
    root's own folder type. Takes the call and the function's nodes."""
    bound = {
        target.id
        for node in body
        if isinstance(node, ast.Assign) and any(n is call for n in ast.walk(node.value))
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in body:
        func = node.func if isinstance(node, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in PARENT_CALLS:
            for inner in ast.walk(node):
                if inner is call or (isinstance(inner, ast.Name) and inner.id in bound):
                    return True
    return False


def opens_as_folder(function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str) -> bool:
    """Whether a node's function uses its input ``parameter`` as a folder: a path built
    on the value (``os.path.join(root, value)``, ``root / value``, names bound to these)
    is joined with a further part (``os.path.join(path, "weights.safetensors")``).

    Takes the function the node runs (its ``FUNCTION``) and the input's name. Only the
    function's own statements are read; a value handed to another function is not
    followed, so a doubt reads as no.
    """
    on_value = {parameter}
    for _ in range(3):  # paths built on paths built on the value
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and _built_on(node.value, on_value):
                on_value.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(function):
        parts = _joined_parts(node)
        if any(_built_on(part, on_value) for part in parts[:-1]):
            return True
    return False


def _joined_parts(node: ast.AST) -> list[ast.expr]:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in PATH_JOINS
        and not node.keywords
    ):
        if node.func.attr == "joinpath":
            return [node.func.value, *node.args]
        return list(node.args)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return [node.left, node.right]
    return []


def _built_on(node: ast.expr, names: set[str]) -> bool:
    """Whether ``node`` is one of ``names``, or a path joined from parts ending in one."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.func, ast.Name):
        return node.func.id in ("Path", "str") and _built_on(node.args[0], names)
    parts = _joined_parts(node)
    return bool(parts) and _built_on(parts[-1], names)
