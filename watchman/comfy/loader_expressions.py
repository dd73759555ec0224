"""Reading the expressions of a node's inputs: which folder a list draws on, widget or socket.

Helpers of :mod:`watchman.comfy.loader_source`, kept apart so each module stays one
concept: this one evaluates expressions statically (names followed through a scope of
module, class and function bindings, to a bounded depth), the other walks files,
classes and mappings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from watchman.comfy.folders import MODEL_EXTENSIONS, folders_using_dir, listed_folder
from watchman.comfy.python_source import syntax_nodes

MAX_DEPTH = 12
"""How many names, calls or bases are followed from one input before giving up."""

LIST_CALLS = frozenset({"get_filename_list", "get_filename_list_"})
FOLDER_PATH_CALLS = frozenset({"get_folder_paths"})
DIRECTORY_CALLS = frozenset({"listdir", "scandir", "walk", "glob", "iglob", "iterdir", "rglob"})
"""Calls listing a directory: ``os.listdir(p)``, ``glob.glob(p)``, ``Path(p).glob(...)``."""
PATH_CALLS = frozenset({"Path", "PurePath", "abspath", "normpath", "realpath", "expanduser", "str"})
"""Calls that give back the path they are given (as far as its directory goes)."""
MAX_PATHS = 16
"""Paths one expression may stand for (a loop over folder names) before it is dropped."""
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
V3_WIDGET_TYPES = frozenset({"Combo", "Int", "Float", "String", "Boolean", "MultiCombo"})
SELF_NAMES = frozenset({"self", "cls", "s", "c"})

Function = ast.FunctionDef | ast.AsyncFunctionDef
Items = dict[tuple[str, ...], list[tuple[str, ast.expr]]]


@dataclass
class Scope:
    """What names mean where an expression is read: function, class, then module."""

    module_bindings: dict[str, list[ast.expr]]
    functions: dict[str, Function]
    class_names: frozenset[str]
    class_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    local_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    methods: dict[str, Function] = field(default_factory=dict)
    # Items stored into dicts by subscript (``d["k"] = v``, ``d["s"]["k"] = v``), by the
    # path of names and keys before the last key: function, then module.
    local_items: Items = field(default_factory=dict)
    module_items: Items = field(default_factory=dict)
    # Steps left for the expression being read, shared by the scopes of the helpers it
    # follows: helpers calling helpers would otherwise cost exponential time.
    steps: list[int] = field(default_factory=lambda: [MAX_STEPS])
    # The function whose body is being read (None at module or class level): a directory
    # listing in it counts as a list of model files only when it names a model extension.
    function: Function | None = None
    # What the listings read for the current input gave: shared like ``steps``.
    trace: ListingTrace = field(default_factory=lambda: ListingTrace())

    def lookup(self, name: str) -> list[ast.expr]:
        """Every value bound to ``name``, from the innermost scope binding it."""
        for bindings in (self.local_bindings, self.class_bindings, self.module_bindings):
            if name in bindings:
                return bindings[name]
        return []

    def attribute(self, name: str) -> list[ast.expr]:
        """Values bound to ``self.name`` / ``cls.name``: set in this function
        (``s.names = ...`` inside ``INPUT_TYPES``), class attributes, else module."""
        return (
            self.local_bindings.get(ATTRIBUTE_PREFIX + name)
            or self.class_bindings.get(name)
            or self.module_bindings.get(name, [])
        )

    def items(self, path: tuple[str, ...]) -> list[tuple[str, ast.expr]]:
        """Items stored by subscript under ``path`` (``("inputs", "optional")``)."""
        return self.local_items.get(path) or self.module_items.get(path, [])

    def inside(self, function: Function, arguments: ast.Call | None = None) -> Scope:
        """The scope of ``function``'s body, in this class and module; with ``arguments``
        (a call of it read in this scope), its parameters are bound to what the call
        passes, or to their defaults."""
        bindings = local_bindings(function)
        if arguments is not None:
            for name, values in _parameters(function, arguments, self).items():
                bindings[name] = [*values, *bindings.get(name, [])]
        inner = Scope(
            self.module_bindings,
            self.functions,
            self.class_names,
            self.class_bindings,
            bindings,
            self.methods,
            module_items=self.module_items,
            steps=self.steps,
            function=function,
            trace=self.trace,
        )
        inner.local_items = item_assignments(function.body, inner)
        return inner


ATTRIBUTE_PREFIX = "."
"""Key prefix of ``self.x = ...`` bindings among a function's names (never a name)."""

MAX_STEPS = 4000
"""Expressions visited while reading one input's folders (or one helper's) at most."""

MAX_UNROLLED = 256
"""Items one function's (or module's) loops may add before the rest are not read."""


def _parameters(function: Function, call: ast.Call, scope: Scope) -> dict[str, list[ast.expr]]:
    """Parameter name -> the expressions a call passes (a string it names is resolved
    in the caller's scope, where its names mean something, and so is a name local to the
    caller: ``create_path_dict(paths, ...)`` passes what ``paths`` holds there), else the
    default."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    bound: dict[str, list[ast.expr]] = {}
    defaults = arguments.defaults
    with_defaults = positional[len(positional) - len(defaults) :]
    for parameter, default in zip(with_defaults, defaults, strict=True):
        bound[parameter.arg] = [default]
    for parameter, optional in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if optional is not None:
            bound[parameter.arg] = [optional]
    if positional and positional[0].arg in SELF_NAMES and isinstance(call.func, ast.Attribute):
        positional = positional[1:]  # s.method(x): x is the second parameter
    given = [(positional[index], value) for index, value in enumerate(call.args[: len(positional)])]
    named = {p.arg: p for p in [*positional, *arguments.kwonlyargs]}
    given += [(named[k.arg], k.value) for k in call.keywords if k.arg in named]
    for parameter, value in given:
        if isinstance(value, ast.Starred):
            break
        text = string_value(value, scope)
        if text is not None:
            bound[parameter.arg] = [ast.Constant(text)]
        elif isinstance(value, ast.Name) and scope.local_bindings.get(value.id):
            held = [item for item in scope.local_bindings[value.id] if item is not value]
            bound[parameter.arg] = held[:MAX_PATHS] or [value]
        else:
            bound[parameter.arg] = [value]
    return bound


def item_assignments(statements: list[ast.stmt], scope: Scope) -> Items:
    """Return what ``statements`` store into dicts by subscript, in source order, by path.

    ``inputs["optional"][f"lora_{i}"] = spec`` inside ``for i in range(1, n + 1)`` gives
    one item per value of ``i`` under ``("inputs", "optional")``, when the range's bounds
    are integers known here (literals, names bound to them, sums). Loops over anything
    else are read once, and keys that need their variable are skipped. At most
    :data:`MAX_UNROLLED` items are gathered.
    """
    found: Items = {}
    _gather_items(statements, scope, {}, found, [MAX_UNROLLED], 0)
    return found


def _gather_items(
    statements: list[ast.stmt],
    scope: Scope,
    env: dict[str, int],
    found: Items,
    left: list[int],
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        return
    for statement in statements:
        if left[0] <= 0:
            return
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                path = _subscript_path(target, env)
                if path is not None and len(path) >= 2:
                    found.setdefault(path[:-1], []).append((path[-1], statement.value))
                    left[0] -= 1
        elif isinstance(statement, ast.For):
            variable = statement.target
            values = None
            if isinstance(variable, ast.Name):
                values = _range_values(statement.iter, scope, env)
            if values is None or not isinstance(variable, ast.Name):
                _gather_items(statement.body, scope, env, found, left, depth + 1)
            else:
                for value in values:
                    inner = {**env, variable.id: value}
                    _gather_items(statement.body, scope, inner, found, left, depth + 1)
        elif isinstance(statement, (ast.If, ast.With, ast.Try, ast.While)):
            blocks = [statement.body, getattr(statement, "orelse", [])]
            blocks += [handler.body for handler in getattr(statement, "handlers", [])]
            blocks.append(getattr(statement, "finalbody", []))
            for block in blocks:
                _gather_items(block, scope, env, found, left, depth + 1)


def _subscript_path(target: ast.expr, env: dict[str, int]) -> tuple[str, ...] | None:
    keys: list[str] = []
    node = target
    while isinstance(node, ast.Subscript) and len(keys) <= MAX_DEPTH:
        key = key_text(node.slice, env)
        if key is None:
            return None
        keys.append(key)
        node = node.value
    if not isinstance(node, ast.Name) or not keys:
        return None
    return (node.id, *reversed(keys))


def key_text(node: ast.expr, env: dict[str, int]) -> str | None:
    """A literal string, or an f-string whose fields are loop variables of ``env``."""
    text = constant_text(node)
    if text is not None or not isinstance(node, ast.JoinedStr):
        return text
    parts: list[str] = []
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            parts.append(value.value)
        elif (
            isinstance(value, ast.FormattedValue)
            and value.format_spec is None
            and isinstance(value.value, ast.Name)
            and value.value.id in env
        ):
            parts.append(str(env[value.value.id]))
        else:
            return None
    return "".join(parts)


def _range_values(node: ast.expr, scope: Scope, env: dict[str, int]) -> range | None:
    if not isinstance(node, ast.Call) or call_name(node) != "range" or node.keywords:
        return None
    if not 1 <= len(node.args) <= 3:
        return None
    bounds = [int_value(argument, scope, env, 0) for argument in node.args]
    if any(bound is None for bound in bounds):
        return None
    values = range(*[bound for bound in bounds if bound is not None])
    return values if 0 < len(values) <= MAX_UNROLLED else None


def int_value(node: ast.expr, scope: Scope, env: dict[str, int], depth: int) -> int | None:
    """An integer an expression is known to be here: literals, loop variables, names
    bound once to one, and ``+ - *`` of those (small results only)."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        bound = scope.lookup(node.id)
        return int_value(bound[-1], scope, env, depth + 1) if len(bound) == 1 else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_value(node.operand, scope, env, depth + 1)
        return -inner if inner is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        left = int_value(node.left, scope, env, depth + 1)
        right = int_value(node.right, scope, env, depth + 1)
        if left is None or right is None:
            return None
        result = (
            left + right
            if isinstance(node.op, ast.Add)
            else left - right
            if isinstance(node.op, ast.Sub)
            else left * right
        )
        return result if abs(result) <= 1_000_000 else None
    return None


def dict_items(node: ast.expr, scope: Scope, depth: int) -> list[tuple[str, ast.expr]]:
    if depth > MAX_DEPTH:
        return []
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        own = dict_items(bound[0], scope, depth + 1) if bound else []
        return own + scope.items((node.id,))
    if isinstance(node, ast.Call) and call_name(node) == "dict":
        return [(k.arg, k.value) for k in node.keywords if k.arg is not None]
    if not isinstance(node, ast.Dict):
        return []
    items: list[tuple[str, ast.expr]] = []
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            items.extend(dict_items(value, scope, depth + 1))
            continue
        text = constant_text(key)
        if text is not None:
            items.append((text, value))
    return items


def list_items(node: ast.expr | None, scope: Scope, depth: int) -> list[ast.expr]:
    if node is None or depth > MAX_DEPTH:
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        items: list[ast.expr] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                items.extend(list_items(element.value, scope, depth + 1))
            else:
                items.append(element)
        return items
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return list_items(node.left, scope, depth + 1) + list_items(node.right, scope, depth + 1)
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        return list_items(bound[0], scope, depth + 1) if bound else []
    return []


def input_kind(spec: ast.expr, scope: Scope) -> tuple[str, tuple[str, ...]]:
    """Return ("widget"|"socket", folders) for one INPUT_TYPES entry."""
    if isinstance(spec, ast.Name):
        bound = scope.lookup(spec.id)
        if bound and isinstance(bound[0], ast.Tuple):
            spec = bound[0]
    if not isinstance(spec, ast.Tuple) or not spec.elts:
        return "widget", folders_of(spec, scope, 0)
    first = spec.elts[0]
    options = spec.elts[1] if len(spec.elts) > 1 else None
    if isinstance(options, ast.Dict):
        for key, value in zip(options.keys, options.values, strict=True):
            if constant_text(key) == "forceInput" and is_true(value):
                return "socket", ()
    folders = folders_of(first, scope, 0)
    if folders:
        return "widget", folders
    text = constant_text(first)
    if text is None and isinstance(first, ast.Attribute):
        owner = first.value
        if isinstance(owner, ast.Name) and (
            owner.id in SELF_NAMES or owner.id in scope.class_names
        ):
            # (cls.modes,): a class attribute holding the choices, or the type's name.
            bound = scope.attribute(first.attr)
            if bound and isinstance(bound[-1], (ast.List, ast.Tuple, ast.ListComp)):
                return "widget", ()
            text = constant_text(bound[-1]) if bound else None
        if text is None:
            text = first.attr  # IO.INT, io.FLOAT, ...
    if text is None and isinstance(first, ast.Name):
        bound = scope.lookup(first.id)
        if bound:
            text = constant_text(bound[-1])
            if text is None and isinstance(bound[-1], ast.Call):
                callee = call_name(bound[-1]) or ""
                if callee[:1].isupper():
                    return "socket", ()  # AnyType("*") and friends
    if text is not None:
        return ("widget" if text.upper() in WIDGET_TYPES else "socket"), ()
    return "widget", ()


def v3_input(item: ast.expr, scope: Scope) -> tuple[str, bool, bool, tuple[str, ...]] | None:
    if not isinstance(item, ast.Call) or not isinstance(item.func, ast.Attribute):
        return None
    if item.func.attr != "Input":
        return None
    type_name = last_name(item.func.value) or ""
    name_node = (
        item.args[0] if item.args else next((k.value for k in item.keywords if k.arg == "id"), None)
    )
    name = constant_text(name_node) if name_node is not None else None
    if name is None:
        return None
    optional = any(k.arg == "optional" and is_true(k.value) for k in item.keywords)
    options = next((k.value for k in item.keywords if k.arg == "options"), None)
    if options is None and len(item.args) > 1:
        options = item.args[1]
    folders = folders_of(options, scope, 0) if options is not None else ()
    return name, type_name in V3_WIDGET_TYPES or bool(folders), optional, folders


class DirectoriesOf(ast.expr):
    """The directories a listing yields, as a name bound by ``for root, dirs, files in
    os.walk(p)`` holds them (``root`` and ``dirs``); never in parsed source."""

    _fields = ("value",)

    def __init__(self, value: ast.expr) -> None:
        super().__init__()
        self.value = value


DIRECTORY_TESTS = frozenset({"isdir", "is_dir"})
"""Calls that keep only the directories of a listing (``os.path.isdir``, ``Path.is_dir``)."""


@dataclass
class ListingTrace:
    """What the listings met while reading one input's folders say its entries are:
    ``filters`` counts the directory filters around the expression being read,
    ``leading`` the leading parts of joined paths (``os.path.join(root, file)``); each
    folder met is noted as listing ``files`` (``get_filename_list``, a models directory
    listing naming a model extension), ``folders`` (a listing kept to directories) or
    only its ``roots`` (``get_folder_paths``, whose entries the listing around decides)."""

    filters: int = 0
    leading: int = 0
    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)

    def reset(self) -> None:
        """Forget what the previous input's reading met."""
        self.filters = self.leading = 0
        self.files.clear()
        self.folders.clear()

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


def _filtered(node: ast.expr, scope: Scope, depth: int) -> Iterator[str]:
    """The folders of ``node`` read inside a directory filter."""
    scope.trace.filters += 1
    try:
        yield from folders_iter(node, scope, depth + 1)
    finally:
        scope.trace.filters -= 1


def _tests_directory(test: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """Whether a filter ``test`` keeps directories: it calls ``isdir`` / ``is_dir`` (not
    under a ``not``), or a predicate bound here (a lambda handed in, a helper) that does;
    ``os.path.isdir`` itself as ``filter``'s function."""
    if depth > 2:
        return False
    if last_name(test) in DIRECTORY_TESTS and not isinstance(test, ast.Call):
        return True  # filter(os.path.isdir, ...)
    if isinstance(test, ast.Lambda):
        return _tests_directory(test.body, scope, depth + 1)
    negated: set[int] = set()
    for node in syntax_nodes(test):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            negated.update(id(inner) for inner in syntax_nodes(node.operand))
        if not isinstance(node, ast.Call) or id(node) in negated:
            continue
        if call_name(node) in DIRECTORY_TESTS:
            return True
        if isinstance(node.func, ast.Name):
            for bound in scope.lookup(node.func.id)[:4]:
                if isinstance(bound, ast.Lambda) and _tests_directory(bound, scope, depth + 1):
                    return True
            helper = scope.functions.get(node.func.id)
            if helper is not None and any(
                isinstance(inner, ast.Call) and call_name(inner) in DIRECTORY_TESTS
                for inner in syntax_nodes(helper)
            ):
                return True
    return False


def folders_of(node: ast.expr | None, scope: Scope, depth: int) -> tuple[str, ...]:
    """Folder types a list expression draws on, in order; empty when none. Reading one
    expression takes at most :data:`MAX_STEPS` steps."""
    if node is None or depth > MAX_DEPTH:
        return ()
    scope.steps[0] = MAX_STEPS
    scope.trace.reset()
    found: list[str] = []
    for folder in folders_iter(node, scope, depth):
        canonical = listed_folder(folder)
        if canonical not in found:
            found.append(canonical)
    return tuple(found)


def folders_iter(node: ast.expr, scope: Scope, depth: int) -> Iterator[str]:
    scope.steps[0] -= 1
    if depth > MAX_DEPTH or scope.steps[0] < 0:
        return
    if isinstance(node, DirectoriesOf):
        yield from _filtered(node.value, scope, depth)
        return
    if isinstance(node, ast.Call):
        callee = call_name(node)
        if (callee in LIST_CALLS or callee in FOLDER_PATH_CALLS) and node.args:
            folder = string_value(node.args[0], scope)
            if folder:
                # get_filename_list lists files; get_folder_paths gives the roots, whose
                # entries are what the listing around it keeps.
                scope.trace.note(folder, "files" if callee in LIST_CALLS else "roots")
                yield folder
            return
        if callee == "filter" and len(node.args) == 2 and _tests_directory(node.args[0], scope):
            yield from _filtered(node.args[1], scope, depth)  # filter(os.path.isdir, ...)
            return
        if callee in DIRECTORY_CALLS:
            listed = list(directory_folders(node, scope, depth + 1))
            if listed:
                yield from listed
                return
        if callee == "join" and len(node.args) >= 2 and not node.keywords:
            # os.path.join(root, file): the entry is what its last part names; the parts
            # before it are the folders holding it, whatever listing they come from.
            scope.trace.leading += 1
            try:
                for argument in node.args[:-1]:
                    yield from folders_iter(argument, scope, depth + 1)
            finally:
                scope.trace.leading -= 1
            yield from folders_iter(node.args[-1], scope, depth + 1)
            return
        function = None
        if isinstance(node.func, ast.Name):
            function = scope.functions.get(node.func.id)
            passed = scope.local_bindings.get(node.func.id)
            if passed and isinstance(passed[0], ast.Name) and passed[0].id in scope.functions:
                # A helper handed in as an argument: get_model_names(get_restorers).
                function = scope.functions[passed[0].id]
        elif (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in SELF_NAMES
        ):
            function = scope.methods.get(node.func.attr)
        if function is not None:
            # A helper of the module or a method of the class: what it returns, its
            # parameters bound to what this call passes (get_files("inpaint")).
            yield from function_folders(function, scope.inside(function, node), depth + 1)
            return
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("copy", "keys"):
            yield from folders_iter(node.func.value, scope, depth + 1)
            return
        # sorted(...), list(...), os.listdir(get_folder_paths("x")[0]), helpers: the
        # folders of what they are given.
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            yield from folders_iter(argument, scope, depth + 1)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from folders_iter(node.left, scope, depth + 1)
        yield from folders_iter(node.right, scope, depth + 1)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from folders_iter(element, scope, depth + 1)
    elif isinstance(node, ast.Starred):
        yield from folders_iter(node.value, scope, depth + 1)
    elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
        keeps_folders = any(
            _tests_directory(test, scope) for generator in node.generators for test in generator.ifs
        )
        for generator in node.generators:
            if keeps_folders:
                yield from _filtered(generator.iter, scope, depth)
            else:
                yield from folders_iter(generator.iter, scope, depth + 1)
    elif isinstance(node, ast.IfExp):
        yield from folders_iter(node.body, scope, depth + 1)
        yield from folders_iter(node.orelse, scope, depth + 1)
    elif isinstance(node, ast.Subscript):
        if last_name(node.value) == "folder_names_and_paths":
            folder = string_value(node.slice, scope)
            if folder:
                scope.trace.note(folder, "roots")
                yield folder
        else:
            yield from folders_iter(node.value, scope, depth + 1)
    elif isinstance(node, ast.Name):
        for bound in scope.lookup(node.id):
            if bound is not node:
                yield from folders_iter(bound, scope, depth + 1)
    elif (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id in SELF_NAMES or node.value.id in scope.class_names)
    ):
        for bound in scope.attribute(node.attr):
            yield from folders_iter(bound, scope, depth + 1)


def directory_folders(call: ast.Call, scope: Scope, depth: int) -> Iterator[str]:
    """Folder types a directory listing under ComfyUI's models directory offers.

    ``os.listdir``, ``os.scandir``, ``os.walk``, ``glob.glob`` or ``Path(...).glob`` /
    ``.iterdir()`` of a path built from ``folder_paths.models_dir`` (``os.path.join``,
    ``/``, ``+``, names bound to these, loops over literal folder names). The directory
    ``models/x`` gives the folder type using it (``folders_using_dir``), else ``x`` itself,
    as the inventory names a pack's folder; a deeper directory no type uses gives none.
    Only a listing that names a model extension (in its glob pattern, or in the function
    reading it) lists model files: packs also list folders of downloaded repositories.
    """
    method = call.func
    on_path = isinstance(method, ast.Attribute) and not (
        isinstance(method.value, ast.Name) and method.value.id in ("os", "glob")
    )
    if on_path and isinstance(method, ast.Attribute):  # Path(p).glob("*.pth"), p.iterdir()
        target: ast.expr | None = method.value
        patterns = [text for argument in call.args for text in string_values(argument, scope, 0)]
    else:
        target = call.args[0] if call.args else None
        patterns = []
    if target is None:
        return
    evidence = False
    for path in models_paths(target, scope, 0):  # a path of its own, as deep again
        parts = [part for part in path.split("/") if part not in ("", ".")]
        while parts and any(mark in parts[-1] for mark in "*?["):
            patterns.append(parts.pop())
        if any(mark in part for part in parts for mark in "*?[") or not parts:
            continue
        evidence = evidence or _names_model_extension(patterns, scope)
        if not evidence and not scope.trace.filters:
            return
        relative = "/".join(parts)
        using = folders_using_dir(f"models/{relative}")
        folder = using[0] if using else parts[0] if len(parts) == 1 else None
        if folder is not None:
            # A listing kept to directories lists folders, even when its function names
            # a model extension elsewhere.
            scope.trace.note(folder, "folders" if scope.trace.filters else "files")
            yield folder


def _names_model_extension(patterns: list[str], scope: Scope) -> bool:
    texts = list(patterns)
    if scope.function is not None:
        for node in syntax_nodes(scope.function):
            text = constant_text(node) if isinstance(node, ast.Constant) else None
            if text is not None:
                texts.append(text)
            elif isinstance(node, ast.Attribute) and node.attr == "supported_pt_extensions":
                return True
    return any(_is_model_extension(text) for text in texts)


def _is_model_extension(text: str) -> bool:
    # ".pth", "*.safetensors", "pth" in endswith(("pth", ...)) is not enough: a dot.
    dot = text.rfind(".")
    return dot != -1 and text[dot:].lower() in MODEL_EXTENSIONS and "/" not in text[dot:]


def models_paths(node: ast.expr, scope: Scope, depth: int) -> list[str]:
    """The paths, relative to ComfyUI's models directory and joined by ``/``, that an
    expression may stand for ("" for the directory itself); empty when it is not known
    to lie under it."""
    scope.steps[0] -= 1
    if depth > MAX_DEPTH or scope.steps[0] < 0:
        return []
    if isinstance(node, ast.Attribute) and node.attr == "models_dir":
        return [""]
    if isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        if not bound:
            return [""] if node.id == "models_dir" else []  # from folder_paths import ...
        found: list[str] = []
        for value in bound:
            if value is not node:
                found.extend(models_paths(value, scope, depth + 1))
        return list(dict.fromkeys(found))[:MAX_PATHS]
    bases: list[str] = []
    tails: list[ast.expr] = []
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in PATH_CALLS and node.args:
            return models_paths(node.args[0], scope, depth + 1)
        if name != "join" or not node.args:
            return []
        bases, tails = models_paths(node.args[0], scope, depth + 1), node.args[1:]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
        bases, tails = models_paths(node.left, scope, depth + 1), [node.right]
    paths = bases
    for tail in tails:
        if not paths:
            return []
        texts = string_values(tail, scope, depth + 1)
        paths = [f"{path}/{text}" for path in paths for text in texts][:MAX_PATHS]
    return paths


def string_values(node: ast.expr, scope: Scope, depth: int) -> list[str]:
    """The strings an expression may be: literals, names bound to them (a loop over a
    literal list binds each), and sums of those; empty when any part is unknown."""
    if depth > MAX_DEPTH:
        return []
    text = constant_text(node)
    if text is not None:
        return [text]
    if isinstance(node, ast.Name):
        found: list[str] = []
        for value in scope.lookup(node.id):
            if value is not node:
                found.extend(string_values(value, scope, depth + 1))
        return list(dict.fromkeys(found))[:MAX_PATHS]
    if isinstance(node, ast.Starred):  # the elements a loop variable takes
        return [
            text
            for element in list_items(node.value, scope, depth + 1)
            for text in string_values(element, scope, depth + 1)
        ][:MAX_PATHS]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = string_values(node.left, scope, depth + 1)
        right = string_values(node.right, scope, depth + 1)
        return [a + b for a in left for b in right][:MAX_PATHS]
    return []


def function_folders(function: Function, inner: Scope, depth: int) -> Iterator[str]:
    """Folders a helper lists: those of what it returns, read in ``inner`` (its body's
    scope); when that names none, those of the listing calls in its body."""
    body = syntax_nodes(function)
    found = False
    for returned in body:
        if isinstance(returned, ast.Return) and returned.value is not None:
            for folder in folders_iter(returned.value, inner, depth + 1):
                found = True
                yield folder
    if not found:
        # What it returns is built step by step (a dict filled in a loop over
        # get_folder_paths(name)): the folders its own listing calls name.
        for call in body:
            if isinstance(call, ast.Call) and call_name(call) in (
                LIST_CALLS | FOLDER_PATH_CALLS | DIRECTORY_CALLS
            ):
                yield from folders_iter(call, inner, depth + 1)


def call_keys(node: ast.AST | None, limit: int = 8) -> tuple[str, ...]:
    """Names of the calls in an expression, as a pack-wide helper registry keys them:
    ``helper()`` -> ``"helper"``, ``UI.CHECKPOINTS()`` -> ``"UI.CHECKPOINTS"``."""
    keys: list[str] = []
    for inner in syntax_nodes(node) if node is not None else ():
        if not isinstance(inner, ast.Call):
            continue
        if isinstance(inner.func, ast.Name):
            key = inner.func.id
        elif isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Name):
            key = f"{inner.func.value.id}.{inner.func.attr}"
        else:
            continue
        if key not in keys:
            keys.append(key)
        if len(keys) >= limit:
            break
    return tuple(keys)


def string_value(node: ast.expr, scope: Scope) -> str | None:
    text = constant_text(node)
    if text is None and isinstance(node, ast.Name):
        bound = scope.lookup(node.id)
        text = constant_text(bound[-1]) if bound else None
    return text.strip() or None if text is not None else None


def input_types_call(node: ast.expr) -> str | None:
    """``Base.INPUT_TYPES()`` (or ``copy.deepcopy`` of it) -> ``"Base"``."""
    for inner in syntax_nodes(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Attribute)
            and inner.func.attr == "INPUT_TYPES"
        ):
            owner = last_name(inner.func.value)
            if isinstance(inner.func.value, ast.Call):
                owner = last_name(inner.func.value.func)  # super().INPUT_TYPES()
            if owner and owner not in SELF_NAMES:
                return owner
    return None


def call_name(call: ast.Call) -> str | None:
    return last_name(call.func)


def last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def constant_text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [part.value for part in node.values if isinstance(part, ast.Constant)]
        if len(parts) == len(node.values) and all(isinstance(part, str) for part in parts):
            return "".join(str(part) for part in parts)  # f"Name" has no fields
    return None


def is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def bind_statement(statement: ast.stmt, bindings: dict[str, list[ast.expr]]) -> None:
    """Record in ``bindings`` what one statement (and the blocks inside it) binds to names:
    assignments, ``+=`` and ``.extend``/``.append``/``.insert`` calls."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(statement.value)
            elif (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and (target.value.id in SELF_NAMES or target.value.id[:1].isupper())
            ):
                # s.model_paths = ... (or Loader.names = ...) in INPUT_TYPES, then read
                # as s.model_paths
                bindings.setdefault(ATTRIBUTE_PREFIX + target.attr, []).append(statement.value)
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        if isinstance(statement.target, ast.Name):
            bindings.setdefault(statement.target.id, []).append(statement.value)
    elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        bindings.setdefault(statement.target.id, []).append(statement.value)
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in ("extend", "append", "insert")
            and isinstance(call.func.value, ast.Name)
        ):
            bindings.setdefault(call.func.value.id, []).extend(call.args)
    elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For)):
        if (
            isinstance(statement, ast.For)
            and isinstance(statement.target, ast.Tuple)
            and isinstance(statement.iter, ast.Call)
            and call_name(statement.iter) == "walk"
            and len(statement.target.elts) == 3
        ):
            # for root, dirs, files in os.walk(p): root and dirs hold directories.
            for position, element in enumerate(statement.target.elts):
                if isinstance(element, ast.Name):
                    walked = statement.iter
                    held: ast.expr = (
                        DirectoriesOf(walked) if position < 2 else ast.Starred(walked, ast.Load())
                    )
                    bindings.setdefault(element.id, []).append(held)
        if (
            isinstance(statement, ast.For)
            and isinstance(statement.target, ast.Name)
            and isinstance(statement.iter, (ast.Name, ast.List, ast.Tuple, ast.Call))
        ):
            # for folder in ["insightface", "reswapper"], for x in get_models(): the
            # variable takes each element.
            bindings.setdefault(statement.target.id, []).append(
                ast.Starred(statement.iter, ast.Load())
            )
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                bind_statement(child, bindings)
        for handler in getattr(statement, "handlers", ()):
            for child in handler.body:
                bind_statement(child, bindings)


def local_bindings(function: Function) -> dict[str, list[ast.expr]]:
    """Return the names a function body binds, with every value bound to each."""
    bindings: dict[str, list[ast.expr]] = {}
    for statement in function.body:
        bind_statement(statement, bindings)
    return bindings
