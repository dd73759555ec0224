"""The node types a pack registers, followed across its modules, still by reading only.

``python_source`` reads one file at a time, so it misses the common ways packs spread
their ``NODE_CLASS_MAPPINGS`` over modules, and an installed pack's nodes were reported
missing. This module reads a pack's files as one program, statically:

* a mapping imported from another module of the pack (``from .image import
  IMAGE_CLASS_MAPPINGS``, then ``NODE_CLASS_MAPPINGS.update(IMAGE_CLASS_MAPPINGS)``, or
  ``A | B``, or ``{**A, **B}``);
* keys that are a class attribute (``{LoraLoaderLM.NAME: LoraLoaderLM}``) whose value is a
  string, or the result of a small function of strings (``NAME = get_name("Seed")`` where
  ``get_name`` returns ``"{} ({})".format(name, NAMESPACE)``);
* a mapping built by a helper from a config dict (``NODE_CLASS_MAPPINGS, _ =
  generate_node_mappings(NODE_CONFIG)``) or by a comprehension over one: its keys.

Nothing is run: expressions are evaluated only when they are literals, names bound to
literals, or the few string operations above (``+``, f-strings, ``str.format`` with plain
``{}`` fields). Every evaluation is bounded (``MAX_DEPTH`` nested steps, ``MAX_STEPS`` in
all per pack, ``MAX_PACK_SOURCE_BYTES`` of source parsed); what cannot be known is left
out, never guessed.
"""

from __future__ import annotations

import ast
import logging
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from watchman.comfy.python_source import (
    MAPPING_NAME,
    MARKERS,
    MAX_SOURCE_BYTES,
    NODE_ID_KEYWORD,
    PARSE_ERRORS,
    decode_source,
    is_mapping_name,
    parse_failure,
    syntax_nodes,
)
from watchman.errors import FileTooLargeError
from watchman.regular_files import read_regular

logger = logging.getLogger(__name__)

MAX_DEPTH = 24
"""Nested evaluation steps (a name to an import to a class attribute to a call ...)."""
MAX_STEPS = 200_000
"""Evaluation steps per pack; past it, what is left is not counted."""
MAX_PACK_SOURCE_BYTES = 64 * 1024 * 1024
"""Source parsed per pack at most (the files that declare nodes and those they import),
the files naming ``NODE_CLASS_MAPPINGS`` first."""


class _OutOfBudget(Exception):
    """The pack's evaluation budget is spent."""


@dataclass
class _Module:
    """What one file binds, as syntax (nothing evaluated yet)."""

    name: str  # dotted, relative to the pack: "py.nodes.lora_loader"
    is_package: bool
    bindings: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)
    classes: dict[str, dict[str, ast.expr]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    statements: list[ast.AST] = field(default_factory=list)
    # A function's parameters while its body is evaluated (they shadow module names).
    parameters: dict[str, str] = field(default_factory=dict)


def pack_node_types(sources: Iterable[tuple[str, bytes]]) -> frozenset[str]:
    """Return the node types the pack registers, followed across its modules.

    Takes the pack's ``(relative path, source)`` Python files. Returns what the
    declarations can be shown to register; a pack whose source cannot be read, or whose
    mappings are built at run time, gives fewer (never invented) names. Never raises for
    any content.
    """
    files = dict(sources)
    reader = _PackReader(files)
    found: set[str] = set()
    declaring = [path for path, data in files.items() if any(m in data for m in MARKERS)]
    # The package's own __init__ and the files naming the mapping first: a pack of many
    # vendored files spends the budget on what registers its nodes.
    declaring.sort(key=lambda path: (path.count("/"), MAPPING_NAME.encode() not in files[path]))
    for path in declaring:
        module = reader.file_module(path)
        if module is None:
            continue
        try:
            found |= reader.declared(module)
        except _OutOfBudget:
            logger.info("The pack's node declarations take too long to follow; some are left.")
            break
    return frozenset(found)


CONDITIONAL_CALLS = frozenset({"register_and_count"})
"""Calls that register a mapping only when another pack is installed: MultiGPU's
``register_and_count(["ComfyUI-GGUF", "comfyui-gguf"], gguf_nodes)`` (a dict, or a
function returning one), checked against the folders of ``custom_nodes``."""

ConditionalTypes = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
"""``((folder names, node types), ...)``: the node types registered when any of the
folder names is an installed pack's folder."""


def conditional_node_types(sources: Iterable[tuple[str, bytes]]) -> ConditionalTypes:
    """Return the node types the pack registers only when another pack is installed.

    Takes the pack's ``(relative path, source)`` Python files; only files calling one of
    :data:`CONDITIONAL_CALLS` are parsed. Never raises for any content.
    """
    files = dict(sources)
    reader = _PackReader(files)
    groups: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for path, data in files.items():
        if not any(call.encode() in data for call in CONDITIONAL_CALLS):
            continue
        module = reader.file_module(path)
        if module is None:
            continue
        for node in module.statements:
            try:
                group = reader.conditional(module, node)
            except (RecursionError, _OutOfBudget):
                continue
            if group is not None:
                groups.append(group)
    return tuple(groups)


def node_classes_in_source(text: str, filename: str) -> frozenset[str]:
    """Return the node types one Python source text declares (the file read alone, as
    :func:`pack_node_types` reads a pack).

    Takes the source and where it came from (for messages). Returns the names found;
    empty when the text does not parse (a warning is logged).
    """
    try:
        ast.parse(text, filename=filename)
    except PARSE_ERRORS as error:
        logger.warning(
            "Skipping %s: it does not parse as Python (%s).", filename, parse_failure(error)
        )
        return frozenset()
    reader = _PackReader({})
    module = _Module(_module_name(Path(filename).name), False)
    _index(module, ast.parse(text, filename=filename))
    try:
        return frozenset(reader.declared(module))
    except _OutOfBudget:
        return frozenset()


def node_classes_in_file(path: Path) -> frozenset[str]:
    """Return the node types one Python file declares, read alone.

    Takes a ``.py`` file. Returns the names found; empty when the file is unreadable, too
    large, not decodable or not valid Python (a warning is logged in each case).
    """
    try:
        data = read_regular(path, MAX_SOURCE_BYTES)
    except FileTooLargeError as error:
        logger.warning(
            "Skipping %s: %d bytes is over the %d-byte limit for node source files.",
            path,
            error.size,
            MAX_SOURCE_BYTES,
        )
        return frozenset()
    except OSError as error:
        logger.warning("Skipping %s: %s.", path, error.strerror or error)
        return frozenset()
    if not any(marker in data for marker in MARKERS):
        return frozenset()
    text = decode_source(data, str(path))
    if text is None:
        return frozenset()
    return node_classes_in_source(text, str(path))


def _module_name(path: str) -> str:
    """``py/nodes/lora.py`` -> ``py.nodes.lora``; a package's ``__init__.py`` names it."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _PackReader:
    """Parses a pack's modules on demand and evaluates what their declarations need."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        # A module's file: a package's __init__ wins over a module file of the same name,
        # as in Python's import system.
        self.paths: dict[str, str] = {}
        for path in sorted(files, key=lambda path: path.endswith("/__init__.py")):
            self.paths[_module_name(path)] = path
        self.parsed: dict[str, _Module | None] = {}
        # Keys of a name, once per module: a chain of {**B, **B} would double per level.
        self.known_keys: dict[tuple[str, str], set[str] | None] = {}
        self.steps = 0
        self.budget = MAX_PACK_SOURCE_BYTES

    def module(self, name: str) -> _Module | None:
        """The module ``name`` (dotted, relative to the pack), parsed once, or None."""
        path = self.paths.get(name)
        return self.file_module(path) if path is not None else None

    def file_module(self, path: str) -> _Module | None:
        """The module in file ``path``, parsed once, or None when it cannot be read."""
        if path in self.parsed:
            return self.parsed[path]
        self.parsed[path] = None  # an import cycle reads as "unknown", not forever
        data = self.files[path]
        if len(data) > min(self.budget, MAX_SOURCE_BYTES):
            return None
        self.budget -= len(data)
        text = decode_source(data, path)
        if text is None:
            return None
        try:
            tree = ast.parse(text, filename=path)
        except PARSE_ERRORS:
            return None  # python_source says why when it reads the same file
        module = _Module(_module_name(path), path.endswith("__init__.py") or path == "__init__.py")
        _index(module, tree)
        self.parsed[path] = module
        return module

    def _imported(self, module: _Module, name: str) -> tuple[_Module, str] | None:
        """Return the module and name that ``name`` in ``module`` comes from."""
        if name in module.imports:
            source, original = module.imports[name]
            other = self.module(source)
            if other is None:
                return None
            if original is None:  # "from . import nodes": the module itself
                return None
            return other, original
        for source in module.star_imports:
            other = self.module(source)
            if other is not None and (
                name in other.bindings or name in other.classes or name in other.functions
            ):
                return other, name
        return None

    # --- evaluation ------------------------------------------------------------------

    def _step(self, depth: int) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _OutOfBudget
        if depth > MAX_DEPTH:
            raise RecursionError

    def declared(self, module: _Module) -> set[str]:
        """Node types the module's statements register."""
        found: set[str] = set()
        for statement in module.statements:
            try:
                found |= self._declared_by(module, statement)
            except RecursionError:
                continue
        return found

    def _declared_by(self, module: _Module, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found: set[str] = set()
            for target in targets:
                found |= self._assigned(module, target, node.value)
            return found
        if isinstance(node, ast.AugAssign) and is_mapping_name(node.target):
            return self.keys(module, node.value, 0) or set()
        if isinstance(node, ast.Call):
            return self._called(module, node)
        return set()

    def _assigned(self, module: _Module, target: ast.expr, value: ast.expr) -> set[str]:
        if is_mapping_name(target):
            keys = self.keys(module, value, 0)
            if keys is None:
                _skipped(module, value, "a mapping that is not followed statically")
            return keys or set()
        if isinstance(target, ast.Subscript) and is_mapping_name(target.value):
            key = self.text(module, target.slice, 0)
            if key is None:
                _skipped(module, target, "an item assignment with a non-literal key")
            return {key} if key is not None else set()
        if (
            isinstance(target, ast.Tuple)
            and any(is_mapping_name(item) for item in target.elts)
            and isinstance(value, ast.Call)
        ):
            # NODE_CLASS_MAPPINGS, NAMES = build(CONFIG): the config's keys.
            return self._keys_of_arguments(module, value, 0)
        return set()

    def _called(self, module: _Module, call: ast.Call) -> set[str]:
        found: set[str] = set()
        for keyword in call.keywords:
            if keyword.arg == NODE_ID_KEYWORD:
                node_id = self.text(module, keyword.value, 0)
                if node_id is not None:
                    found.add(node_id)
        function = call.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "update"
            and is_mapping_name(function.value)
        ):
            for argument in call.args:
                found |= self.keys(module, argument, 0) or set()
            for keyword in call.keywords:
                if keyword.arg is None:  # .update(**other)
                    found |= self.keys(module, keyword.value, 0) or set()
                else:
                    found.add(keyword.arg)
        return found

    def conditional(
        self, module: _Module, node: ast.AST
    ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The folder names and node types of one call of :data:`CONDITIONAL_CALLS`."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in CONDITIONAL_CALLS
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.List | ast.Tuple)
        ):
            return None
        folders = [self.text(module, item, 0) for item in node.args[0].elts]
        names = tuple(folder for folder in folders if folder)
        keys = self.keys(module, node.args[1], 0)
        if keys is None and isinstance(node.args[1], ast.Name):
            keys = self._returned_keys(module, node.args[1].id)
        if not names or not keys:
            return None
        return names, tuple(sorted(keys))

    def _returned_keys(self, module: _Module, name: str) -> set[str] | None:
        """The keys of the dict a module function returns (its last statement)."""
        definition = module.functions.get(name)
        if definition is None or not definition.body:
            return None
        last = definition.body[-1]
        if not isinstance(last, ast.Return) or last.value is None:
            return None
        return self.keys(module, last.value, 1)

    def _keys_of_arguments(self, module: _Module, call: ast.Call, depth: int) -> set[str]:
        found: set[str] = set()
        for argument in call.args:
            found |= self.keys(module, argument, depth + 1) or set()
        return found

    def keys(self, module: _Module, value: ast.expr, depth: int) -> set[str] | None:
        """The string keys of a dict expression, or None when they cannot be known."""
        self._step(depth)
        if isinstance(value, ast.Dict):
            keys: set[str] = set()
            for key, item in zip(value.keys, value.values, strict=True):
                if key is None:
                    keys |= self.keys(module, item, depth + 1) or set()
                    continue
                text = self.text(module, key, depth + 1)
                if text is not None:
                    keys.add(text)
            return keys
        if isinstance(value, ast.Name):
            memo = (module.name, value.id)
            if memo not in self.known_keys:
                self.known_keys[memo] = None  # a name defined through itself: unknown
                self.known_keys[memo] = self._name_keys(module, value.id, depth)
            return self.known_keys[memo]
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
            left = self.keys(module, value.left, depth + 1) or set()
            return left | (self.keys(module, value.right, depth + 1) or set())
        if isinstance(value, ast.Call):
            if isinstance(value.func, ast.Name) and value.func.id == "dict":
                keys = {keyword.arg for keyword in value.keywords if keyword.arg}
                for keyword in value.keywords:
                    if keyword.arg is None:  # dict(**other)
                        keys |= self.keys(module, keyword.value, depth + 1) or set()
                return keys | self._keys_of_arguments(module, value, depth)
            return None
        if isinstance(value, ast.DictComp) and len(value.generators) == 1:
            return self._comprehension_keys(module, value, depth)
        return None

    def _name_keys(self, module: _Module, name: str, depth: int) -> set[str] | None:
        bound = module.bindings.get(name)
        if bound is not None:
            return self.keys(module, bound, depth + 1)
        source = self._imported(module, name)
        if source is not None:
            other, original = source
            bound = other.bindings.get(original)
            if bound is not None:
                return self.keys(other, bound, depth + 1)
        return None

    def _comprehension_keys(
        self, module: _Module, comp: ast.DictComp, depth: int
    ) -> set[str] | None:
        # {name: info["class"] for name, info in CONFIG.items()}: CONFIG's keys.
        generator = comp.generators[0]
        if generator.ifs or not isinstance(comp.key, ast.Name):
            return None
        target = generator.target
        first = target.elts[0] if isinstance(target, ast.Tuple) and target.elts else target
        if not isinstance(first, ast.Name) or first.id != comp.key.id:
            return None
        source = generator.iter
        if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute):
            if source.func.attr not in ("items", "keys") or source.args:
                return None
            source = source.func.value
        return self.keys(module, source, depth + 1)

    def text(self, module: _Module, node: ast.expr, depth: int) -> str | None:
        """The string an expression evaluates to, or None when it cannot be known."""
        self._step(depth)
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    if part.conversion != -1 or part.format_spec is not None:
                        return None
                    piece = self.text(module, part.value, depth + 1)
                else:
                    piece = self.text(module, part, depth + 1)
                if piece is None:
                    return None
                parts.append(piece)
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.text(module, node.left, depth + 1)
            right = self.text(module, node.right, depth + 1) if left is not None else None
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Name):
            if node.id in module.parameters:
                return module.parameters[node.id]
            bound = module.bindings.get(node.id)
            if bound is not None:
                return self.text(module, bound, depth + 1)
            source = self._imported(module, node.id)
            if source is not None and source[1] in source[0].bindings:
                return self.text(source[0], source[0].bindings[source[1]], depth + 1)
            return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self._class_attribute(module, node.value.id, node.attr, depth)
        if isinstance(node, ast.Call):
            return self._call_text(module, node, depth)
        return None

    def _class_attribute(
        self, module: _Module, name: str, attribute: str, depth: int
    ) -> str | None:
        owner: _Module | None = module
        class_name = name
        if name not in module.classes:
            source = self._imported(module, name)
            owner, class_name = source if source is not None else (None, name)
        if owner is None or class_name not in owner.classes:
            return None
        value = owner.classes[class_name].get(attribute)
        return self.text(owner, value, depth + 1) if value is not None else None

    def _call_text(self, module: _Module, call: ast.Call, depth: int) -> str | None:
        function = call.func
        if isinstance(function, ast.Attribute) and function.attr == "format":
            template = self.text(module, function.value, depth + 1)
            if template is None or call.keywords:
                return None
            values = [self.text(module, argument, depth + 1) for argument in call.args]
            return _formatted(template, values)
        if not isinstance(function, ast.Name) or call.keywords:
            return None
        owner: _Module | None = module
        function_name = function.id
        if function_name not in module.functions:
            source = self._imported(module, function_name)
            owner, function_name = source if source is not None else (None, function_name)
        if owner is None or function_name not in owner.functions:
            return None
        definition = owner.functions[function_name]
        body = [s for s in definition.body if not _is_docstring(s)]
        parameters = [argument.arg for argument in definition.args.args]
        if (
            len(body) != 1
            or not isinstance(body[0], ast.Return)
            or body[0].value is None
            or len(parameters) != len(call.args)
        ):
            return None
        values = [self.text(module, argument, depth + 1) for argument in call.args]
        if any(value is None for value in values):
            return None
        # The function's parameters shadow its module's names, for this one evaluation
        # (the module's tables are shared, not copied).
        scope = _Module(
            owner.name,
            owner.is_package,
            owner.bindings,
            owner.imports,
            owner.star_imports,
            owner.classes,
            owner.functions,
            owner.statements,
            dict(zip(parameters, values, strict=True)),  # type: ignore[arg-type]
        )
        return self.text(scope, body[0].value, depth + 1)


def _formatted(template: str, values: list[str | None]) -> str | None:
    """``template.format(*values)`` when every field is a plain ``{}`` or ``{n}`` and every
    value is known; else None (a field such as ``{0.__class__}`` is never evaluated)."""
    pieces = []
    automatic = 0
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for literal, field_name, spec, conversion in parsed:
        pieces.append(literal)
        if field_name is None:
            continue
        if spec or conversion:
            return None
        if field_name == "":
            index, automatic = automatic, automatic + 1
        elif field_name.isdigit():
            index = int(field_name)
        else:
            return None
        if index >= len(values) or values[index] is None:
            return None
        pieces.append(values[index] or "")
    return "".join(pieces)


def _index(module: _Module, tree: ast.Module) -> None:
    """Fill ``module`` with the file's bindings, imports, classes and functions."""
    for statement in _module_level(tree.body):
        if isinstance(statement, ast.ClassDef):
            attributes: dict[str, ast.expr] = {}
            for item in statement.body:
                if isinstance(item, ast.Assign):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            attributes[target.id] = item.value
                elif (
                    isinstance(item, ast.AnnAssign)
                    and item.value is not None
                    and isinstance(item.target, ast.Name)
                ):
                    attributes[item.target.id] = item.value
            module.classes[statement.name] = attributes
        elif isinstance(statement, ast.FunctionDef):
            module.functions[statement.name] = statement
        elif isinstance(statement, ast.Assign):
            # The last binding in file order wins, as for straight-line module code.
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    module.bindings[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and statement.value is not None
            and isinstance(statement.target, ast.Name)
        ):
            module.bindings[statement.target.id] = statement.value
        elif isinstance(statement, ast.ImportFrom):
            _index_import(module, statement)
    # Declarations may sit anywhere, a function that registers included.
    module.statements = [
        node
        for node in syntax_nodes(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Call)
    ]


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run when the module is imported: ``body`` and the blocks of its
    ``if`` / ``try`` / ``with`` / loops, not the bodies of functions and classes."""
    found: list[ast.stmt] = []
    pending = list(reversed(body))
    while pending:
        statement = pending.pop()
        found.append(statement)
        blocks: list[list[ast.stmt]] = []
        if isinstance(statement, ast.If | ast.For | ast.While | ast.AsyncFor):
            blocks = [statement.body, statement.orelse]
        elif isinstance(statement, ast.With | ast.AsyncWith):
            blocks = [statement.body]
        elif isinstance(statement, ast.Try):
            handlers = [handler.body for handler in statement.handlers]
            blocks = [statement.body, *handlers, statement.orelse, statement.finalbody]
        for block in reversed(blocks):
            pending.extend(reversed(block))
    return found


def _index_import(module: _Module, node: ast.ImportFrom) -> None:
    base = node.module or ""
    level = node.level
    package = module.name.split(".") if module.name else []
    if not module.is_package:
        package = package[:-1]
    if level == 0:
        source = base
    else:
        if level - 1 > len(package):
            return
        package = package[: len(package) - (level - 1)]
        source = ".".join([*package, *([base] if base else [])])
    for alias in node.names:
        if alias.name == "*":
            module.star_imports.append(source)
        elif base or level == 0:
            module.imports[alias.asname or alias.name] = (source, alias.name)
        else:  # from . import nodes: a module, read through its attributes (not followed)
            module.imports[alias.asname or alias.name] = (
                ".".join([*package, alias.name]) if package or alias.name else alias.name,
                None,
            )


def _skipped(module: _Module, node: ast.AST, what: str) -> None:
    logger.debug(
        "%s:%s: %s; not counted (only what reading can show is).",
        module.name or "__init__",
        getattr(node, "lineno", "?"),
        what,
    )


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
