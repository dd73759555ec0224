"""Node type names that packs build at import time, which no static reading follows.

comfy_mtb registers each class its ``nodes/*.py`` list in ``__nodes__`` under a label
built from the class name (``MTB_LoadFaceSwapModel`` -> ``Load Face Swap Model (mtb)``);
ComfyUI-3D-Pack registers every class of its ``nodes.py`` as ``[Comfy3D] `` and the class
name with blanks for underscores; Jovimetrix (cozy_comfyui's ``loader`` over its ``core/``
folder) registers every class of it under the literal ``NAME`` its body gives. Their
rules are written here as data about those packs, and :func:`registration_file` gives the
mapping they build as Python source that
:func:`~watchman.comfy.loader_source.learn_loaders` reads like any file of the pack: the
loader table's builder (``tools/build_loader_table.py``) and the node inventory of an
installed pack (known by its git remote, else by the registering code of its own
``__init__.py``) both add it. Source is parsed, never run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from watchman.comfy.python_source import PARSE_ERRORS


def mtb_node_type(class_name: str) -> str:
    """comfy_mtb's key for a class it registers: ``get_label`` (log.py) drops ``MTB_`` and
    puts a blank before each run of capitals, then ``__init__`` adds `` (mtb)``:
    ``MTB_LoadFaceSwapModel`` -> ``Load Face Swap Model (mtb)``."""
    label = class_name[4:] if class_name.startswith("MTB_") else class_name
    return " ".join(re.sub(r"([A-Z]+)", r" \1", label).split()) + " (mtb)"


def comfy3d_node_type(class_name: str) -> str:
    """ComfyUI-3D-Pack's key for a class of its nodes.py (``__init__``'s loop over
    ``inspect.getmembers``): ``Load_CRM_MVDiffusion_Model`` ->
    ``[Comfy3D] Load CRM MVDiffusion Model``."""
    return "[Comfy3D] " + class_name.replace("_", " ")


def _listed_in_nodes(tree: ast.Module) -> list[str]:
    # comfy_mtb: each module of nodes/ lists the classes it registers in __nodes__.
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__nodes__" for t in statement.targets)
            and isinstance(statement.value, (ast.List, ast.Tuple))
        ):
            return [e.id for e in statement.value.elts if isinstance(e, ast.Name)]
    return []


def _classes_defined(tree: ast.Module) -> list[str]:
    # ComfyUI-3D-Pack: every class defined in nodes.py itself.
    return [s.name for s in tree.body if isinstance(s, ast.ClassDef)]


def _in_nodes_folder(name: str) -> bool:
    return name.startswith("nodes/") and name.count("/") == 1


def _in_core_folder(name: str) -> bool:
    return name.startswith("core/")


def _named_classes(tree: ast.Module) -> list[tuple[str, str]]:
    # Jovimetrix (cozy_comfyui's loader over its core/ folder): every class whose body
    # gives NAME a literal text is registered under that text.
    found = []
    for statement in tree.body:
        if not isinstance(statement, ast.ClassDef):
            continue
        for item in statement.body:
            if (
                isinstance(item, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "NAME" for t in item.targets)
                and isinstance(item.value, ast.Constant)
                and isinstance(item.value.value, str)
            ):
                found.append((statement.name, item.value.value))
    return found


_CLASS_LINE = re.compile(rb"class\s+(\w+)\b")
_NAME_LINE = re.compile(rb"\s+NAME\s*=\s*((\"|')(?:[^\"'\\\r\n]|\\.)+\2)\s*(?:#.*)?$")


def _named_classes_by_line(data: bytes) -> list[tuple[str, str]]:
    """``_named_classes`` read line by line, for a file this Python cannot parse
    (Jovimetrix writes f-strings with nested quotes, Python 3.12 syntax): a ``NAME = "…"``
    line indented under the last ``class`` line at the margin."""
    found = []
    current: str | None = None
    for line in data.splitlines():
        opened = _CLASS_LINE.match(line)
        if opened is not None:
            current = opened.group(1).decode("ascii", "replace")
            continue
        if line[:1] not in (b" ", b"\t", b"") and not line.startswith(b"#"):
            current = None  # a statement at the margin ends the class
            continue
        named = _NAME_LINE.match(line)
        if current is not None and named is not None:
            try:  # a string literal alone, its escapes read as Python reads them
                text = ast.literal_eval(named.group(1).decode("utf-8", "replace"))
            except (ValueError, SyntaxError):
                continue
            found.append((current, str(text)))
            current = None
    return found


def _keyed(
    listed: Callable[[ast.Module], list[str]], key: Callable[[str], str]
) -> Callable[[ast.Module], list[tuple[str, str]]]:
    """A rule's reading for packs whose key is a function of the class name."""
    return lambda tree: [(name, key(name)) for name in listed(tree)]


@dataclass(frozen=True)
class Rule:
    """How one pack names its node types at import time."""

    registers: Callable[[str], bool]
    """Which of its files (relative path) register classes."""
    registered: Callable[[ast.Module], list[tuple[str, str]]]
    """Which classes a registering file registers (read from its source), each with the
    key the pack builds for it (its rule, written here)."""
    marks: tuple[bytes, ...]
    """Texts of the pack's own ``__init__.py`` that its registering code holds: a copy
    installed without ``.git`` (a zip, the registry) is known by them."""
    by_line: Callable[[bytes], list[tuple[str, str]]] | None = None
    """The same reading line by line, for a registering file this Python cannot parse
    (written for a newer one)."""


# By repository (a clone's git remote names it).
NAMED_AT_IMPORT: dict[str, Rule] = {
    "melMass/comfy_mtb": Rule(
        _in_nodes_folder,
        _keyed(_listed_in_nodes, mtb_node_type),
        (b"__nodes__", b"get_label(", b" (mtb)"),
    ),
    "MrForExample/ComfyUI-3D-Pack": Rule(
        "nodes.py".__eq__,
        _keyed(_classes_defined, comfy3d_node_type),
        (b"[Comfy3D] ", b"getmembers"),
    ),
    "Amorano/Jovimetrix": Rule(
        _in_core_folder,
        _named_classes,
        (b"cozy_comfyui", b'"core"', b"loader("),
        _named_classes_by_line,
    ),
}
MAX_REGISTERING_BYTES = 8 * 1024 * 1024
"""Source parsed for the registering files of one pack at most (the rest is not read)."""
REGISTRATION_FILE = "(mapping built at import time).py"


def registration_file(
    repo: str | None, files: Iterable[tuple[str, bytes]]
) -> tuple[str, bytes] | None:
    """Return the mapping a pack of :data:`NAMED_AT_IMPORT` builds at import time, as
    Python source the extractor reads (``NODE_CLASS_MAPPINGS = {"key": Class, ...}``),
    or None for other packs and when no class is found.

    Takes the repository (``owner/name``, or None when the pack has no known remote) and
    the pack's ``(relative path, source)`` files, read once. The pack follows the rule of
    its repository; a pack whose repository names no rule (no ``.git``, a fork's remote)
    follows the rule whose marks its own ``__init__.py`` holds. Only the files the rule
    names are parsed, :data:`MAX_REGISTERING_BYTES` at most. Never raises for any
    content."""
    named = NAMED_AT_IMPORT.get(repo or "")
    candidates = [named] if named is not None else list(NAMED_AT_IMPORT.values())
    marked: Rule | None = None
    held: list[tuple[str, bytes]] = []
    budget = MAX_REGISTERING_BYTES
    for name, data in files:
        if named is None and name == "__init__.py":
            marked = next((r for r in candidates if all(m in data for m in r.marks)), None)
        if budget >= 0 and any(rule.registers(name) for rule in candidates):
            budget -= len(data)
            held.append((name, data))
    rule = named or marked
    if rule is None or budget < 0:
        return None  # a pack this large is not what the rule was read from
    classes: dict[str, str] = {}  # class name -> its key, the first reading winning
    for name, data in held:
        if not rule.registers(name):
            continue
        try:
            registered = rule.registered(ast.parse(data, filename=name))
        except PARSE_ERRORS:
            # The extractor says why when it reads the file.
            registered = rule.by_line(data) if rule.by_line is not None else []
        for class_name, key in registered:
            classes.setdefault(class_name, key)
    if not classes:
        return None
    items = "".join(f"    {key!r}: {class_name},\n" for class_name, key in classes.items())
    return REGISTRATION_FILE, f"NODE_CLASS_MAPPINGS = {{\n{items}}}\n".encode()


_GITHUB = re.compile(r"github\.com[:/]+([^/\s]+)/([^/\s]+?)(?:\.git)?/*$", re.IGNORECASE)


def repository_of(remote_url: str | None) -> str | None:
    """Return ``owner/name`` of a GitHub remote URL (https or ssh), as
    :data:`NAMED_AT_IMPORT` keys it; None for other remotes and None."""
    match = _GITHUB.search(remote_url.strip()) if remote_url else None
    if match is None:
        return None
    found = f"{match.group(1)}/{match.group(2)}"
    # GitHub names are case-insensitive: a clone's remote may spell them otherwise.
    return next((known for known in NAMED_AT_IMPORT if known.lower() == found.lower()), found)
