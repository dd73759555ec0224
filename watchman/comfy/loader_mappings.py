"""Reading one file's node mappings: which node type names which class.

Part of :mod:`watchman.comfy.loader_file`. Mappings are dict literals (and the values of
``NODE_CLASS_MAPPINGS``-like names, ``.update`` arguments, item assignments), keyed by
text, by a name bound to text, or by a class attribute (``Cls.NAME``). A mapping built
from a list of classes is read as the items it builds, one per class of the list:

- a loop, ``for node in NODES: NODE_CLASS_MAPPINGS[node.NodeId] = node``;
- a comprehension, ``{cls.__name__: cls for cls in [LoaderA, LoaderB]}``;

where the list is a literal or a name of the module bound to one, and the key is the
class's name (``__name__``) or one of its attributes. Nothing is imported or run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING

from watchman.comfy.syntax_literals import constant_text, is_name, last_name

if TYPE_CHECKING:
    from watchman.comfy.loader_file import PackIndex

MAX_UNROLLED = 400
"""Classes one loop or comprehension over a list is read for at most."""


class MappingReader:
    """The mapping half of a file's reader (mixed into ``FileReader``)."""

    index: PackIndex
    source: str
    module_bindings: dict[str, list[ast.expr]]
    class_nodes: dict[str, ast.ClassDef]

    def read_mappings(self, nodes: Iterable[ast.AST]) -> None:
        """Record the node mappings among ``nodes`` (assignments, calls, dict literals,
        loops and comprehensions, in ``ast.walk`` order)."""
        self._aliases: dict[int, int] = {}
        statements: list[ast.AST] = []
        for node in nodes:
            if isinstance(node, ast.For):
                statements.extend(self._unrolled_loop(node))
            elif isinstance(node, ast.DictComp):
                statements.extend(self._unrolled_comprehension(node))
            else:
                statements.append(node)
        mapping_groups: dict[str, str] = {}
        for node in statements:
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.DictComp)):
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

    # --- mappings built from a list of classes ----------------------------------------

    def _listed_classes(self, iterable: ast.expr) -> list[str]:
        if isinstance(iterable, ast.Name):
            bound = self.module_bindings.get(iterable.id)
            iterable = bound[-1] if bound else iterable
        if not isinstance(iterable, (ast.List, ast.Tuple)):
            return []
        names = [last_name(element) for element in iterable.elts[:MAX_UNROLLED]]
        return [name for name in names if name is not None and name[:1].isupper()]

    def _unrolled_loop(self, loop: ast.For) -> list[ast.AST]:
        # for node in NODES: MAPPINGS[node.NodeId] = node  ->  MAPPINGS[A.NodeId] = A, ...
        if not isinstance(loop.target, ast.Name):
            return []
        variable = loop.target.id
        items: list[ast.AST] = []
        classes = self._listed_classes(loop.iter)
        for statement in loop.body:
            if not (isinstance(statement, ast.Assign) and is_name(statement.value, variable)):
                continue
            for target in statement.targets:
                if not isinstance(target, ast.Subscript):
                    continue
                for class_name in classes:
                    key = _key_for(target.slice, variable, class_name)
                    if key is not None:
                        subscript = ast.Subscript(target.value, key, ast.Store())
                        value = ast.Name(class_name, ast.Load())
                        items.append(ast.Assign([subscript], value, lineno=statement.lineno))
        return items

    def _unrolled_comprehension(self, comprehension: ast.DictComp) -> list[ast.AST]:
        # {cls.__name__: cls for cls in NODES}  ->  {"A": A, ...}, in the comprehension's group
        if len(comprehension.generators) != 1:
            return []
        generator = comprehension.generators[0]
        if generator.ifs or not isinstance(generator.target, ast.Name):
            return []
        variable = generator.target.id
        if not is_name(comprehension.value, variable):
            return []
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for class_name in self._listed_classes(generator.iter):
            key = _key_for(comprehension.key, variable, class_name)
            if key is not None:
                keys.append(key)
                values.append(ast.Name(class_name, ast.Load()))
        if not keys:
            return []
        built = ast.Dict(keys, values)
        self._aliases[id(built)] = id(comprehension)
        return [built]

    # --- mappings -------------------------------------------------------------------

    def _group(self, node: ast.AST) -> str:
        # Unique while this file's tree is alive; the file name keeps groups of files apart.
        # A dict built from a comprehension is in the comprehension's group.
        return f"{self.source}:{self._aliases.get(id(node), id(node))}"

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
            if wrapped is not None and not looks_like_class(wrapped):
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


def _key_for(key: ast.expr, variable: str, class_name: str) -> ast.expr | None:
    """The key a loop over classes writes for ``class_name``: its name for
    ``variable.__name__``, its attribute for ``variable.ATTR``; None for other keys."""
    if isinstance(key, ast.Attribute) and is_name(key.value, variable):
        if key.attr == "__name__":
            return ast.Constant(class_name)
        return ast.Attribute(ast.Name(class_name, ast.Load()), key.attr, ast.Load())
    return None


def looks_like_class(name: str) -> bool:
    # Node classes are named in CapWords; lower-case names are values (device, dtype).
    return name[:1].isupper()
