"""Evaluating what a node pack's declarations need, statically and within bounds: the
string keys of a dict expression and the text of a string expression, followed through
the pack's modules (:mod:`watchman.comfy.pack_modules`), imports, class attributes and
small functions of strings. Only literals, names bound to them, ``+``, f-strings and
``str.format`` with plain ``{}`` fields are evaluated; anything else is unknown (None),
never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from watchman.comfy.loader_names import MAX_NAME, substitute_fields
from watchman.comfy.pack_modules import PackModule, indexed_module, is_docstring, module_name
from watchman.comfy.python_source import MAX_SOURCE_BYTES, PARSE_ERRORS, decode_source

MAX_DEPTH = 24
"""Nested evaluation steps (a name to an import to a class attribute to a call ...)."""
MAX_STEPS = 200_000
"""Evaluation steps per pack; past it, what is left is not counted."""
MAX_PACK_SOURCE_BYTES = 64 * 1024 * 1024
"""Source parsed per pack at most (the files that declare nodes and those they import),
the files naming ``NODE_CLASS_MAPPINGS`` first."""


class OutOfBudget(Exception):
    """The pack's evaluation budget is spent."""


class PackReader:
    """Parses a pack's modules on demand and evaluates what their declarations need."""

    def __init__(
        self, files: Mapping[str, bytes], indexed: Mapping[str, PackModule] | None = None
    ) -> None:
        """Take the pack's ``(relative path: source)`` files and the modules of some of
        them indexed already from a parse made for another reading (never parsed twice)."""
        self.files = files
        self.indexed = indexed or {}
        # A module's file: a package's __init__ wins over a module file of the same name,
        # as in Python's import system.
        self.paths: dict[str, str] = {}
        for path in sorted(files, key=lambda path: path.endswith("/__init__.py")):
            self.paths[module_name(path)] = path
        self.parsed: dict[str, PackModule | None] = {}
        # Keys of a name, once per module: a chain of {**B, **B} would double per level.
        self.known_keys: dict[tuple[str, str], set[str] | None] = {}
        self.steps = 0
        self.budget = MAX_PACK_SOURCE_BYTES

    def module(self, name: str) -> PackModule | None:
        """The module ``name`` (dotted, relative to the pack), parsed once, or None."""
        path = self.paths.get(name)
        return self.file_module(path) if path is not None else None

    def file_module(self, path: str) -> PackModule | None:
        """The module in file ``path``, parsed once, or None when it cannot be read."""
        if path in self.parsed:
            return self.parsed[path]
        self.parsed[path] = None  # an import cycle reads as "unknown", not forever
        data = self.files[path]
        if len(data) > min(self.budget, MAX_SOURCE_BYTES):
            return None
        self.budget -= len(data)
        module = self.indexed.get(path)
        if module is None:
            text = decode_source(data, path)
            if text is None:
                return None
            try:
                tree = ast.parse(text, filename=path)
            except PARSE_ERRORS:
                return None  # python_source says why when it reads the same file
            module = indexed_module(path, tree)
        self.parsed[path] = module
        return module

    def _imported(self, module: PackModule, name: str) -> tuple[PackModule, str] | None:
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

    def step(self, depth: int) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise OutOfBudget
        if depth > MAX_DEPTH:
            raise RecursionError

    def keys_of_arguments(self, module: PackModule, call: ast.Call, depth: int) -> set[str]:
        found: set[str] = set()
        for argument in call.args:
            found |= self.keys(module, argument, depth + 1) or set()
        return found

    def keys(self, module: PackModule, value: ast.expr, depth: int) -> set[str] | None:
        """The string keys of a dict expression, or None when they cannot be known."""
        self.step(depth)
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
                return keys | self.keys_of_arguments(module, value, depth)
            return None
        if isinstance(value, ast.DictComp) and len(value.generators) == 1:
            return self._comprehension_keys(module, value, depth)
        return None

    def _name_keys(self, module: PackModule, name: str, depth: int) -> set[str] | None:
        # A dict bound once, then grown (a config dict KJNodes updates in try blocks):
        # its keys are the binding's and those its updates add, wherever they stand.
        bound = module.bindings.get(name)
        if bound is not None:
            keys = self.keys(module, bound, depth + 1)
            return None if keys is None else keys | self._added_keys(module, name, depth)
        source = self._imported(module, name)
        if source is not None:
            other, original = source
            bound = other.bindings.get(original)
            if bound is not None:
                keys = self.keys(other, bound, depth + 1)
                if keys is None:
                    return None
                added = self._added_keys(other, original, depth)
                return keys | added | self._added_keys(module, name, depth)
        return None

    def _added_keys(self, module: PackModule, name: str, depth: int) -> set[str]:
        """The keys ``module``'s statements add to the dict bound to ``name``:
        ``name.update(...)``, ``name["key"] = ...``, ``name |= {...}``."""
        added: set[str] = set()
        for node in module.statements:
            if isinstance(node, ast.Call):
                function = node.func
                if (
                    isinstance(function, ast.Attribute)
                    and function.attr == "update"
                    and isinstance(function.value, ast.Name)
                    and function.value.id == name
                ):
                    self.step(depth)
                    added |= self.keys_of_arguments(module, node, depth)
                    added |= {keyword.arg for keyword in node.keywords if keyword.arg}
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == name
                    ):
                        self.step(depth)
                        text = self.text(module, target.slice, depth + 1)
                        if text is not None:
                            added.add(text)
            elif (
                isinstance(node, ast.AugAssign)
                and isinstance(node.op, ast.BitOr)
                and isinstance(node.target, ast.Name)
                and node.target.id == name
            ):
                self.step(depth)
                added |= self.keys(module, node.value, depth + 1) or set()
        return added

    def _comprehension_keys(
        self, module: PackModule, comp: ast.DictComp, depth: int
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

    def text(self, module: PackModule, node: ast.expr, depth: int) -> str | None:
        """The string an expression evaluates to, or None when it cannot be known or is
        longer than a node type name can be (``loader_names.MAX_NAME``)."""
        text = self._text(module, node, depth)
        return text if text is None or len(text) <= MAX_NAME else None

    def _text(self, module: PackModule, node: ast.expr, depth: int) -> str | None:
        self.step(depth)
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
        self, module: PackModule, name: str, attribute: str, depth: int
    ) -> str | None:
        owner: PackModule | None = module
        class_name = name
        if name not in module.classes:
            source = self._imported(module, name)
            owner, class_name = source if source is not None else (None, name)
        if owner is None or class_name not in owner.classes:
            return None
        value = owner.classes[class_name].get(attribute)
        return self.text(owner, value, depth + 1) if value is not None else None

    def _call_text(self, module: PackModule, call: ast.Call, depth: int) -> str | None:
        function = call.func
        if isinstance(function, ast.Attribute) and function.attr == "format":
            template = self.text(module, function.value, depth + 1)
            if template is None:
                return None
            positional = [self.text(module, argument, depth + 1) for argument in call.args]
            named = {
                keyword.arg: self.text(module, keyword.value, depth + 1)
                for keyword in call.keywords
                if keyword.arg
            }
            return substitute_fields(template, positional, named)
        if not isinstance(function, ast.Name) or call.keywords:
            return None
        owner: PackModule | None = module
        function_name = function.id
        if function_name not in module.functions:
            source = self._imported(module, function_name)
            owner, function_name = source if source is not None else (None, function_name)
        if owner is None or function_name not in owner.functions:
            return None
        definition = owner.functions[function_name]
        body = [s for s in definition.body if not is_docstring(s)]
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
        scope = PackModule(
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
