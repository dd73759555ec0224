"""Node class names found in Python source by reading it, never by importing it.

Importing a custom node pack runs its code, so the inventory reads the syntax tree only.
Two styles declare node classes:

* the classic ``NODE_CLASS_MAPPINGS`` dict: a literal (``= {...}``, annotated or not),
  ``NODE_CLASS_MAPPINGS.update({...})``, ``NODE_CLASS_MAPPINGS["X"] = ...``,
  ``NODE_CLASS_MAPPINGS |= {...}`` and merges like ``{**A, **B}`` whose parts are literal
  dicts assigned in the same file;
* the V3 schema style: ``io.Schema(node_id="X", ...)``, i.e. any ``node_id="X"`` keyword
  argument of a call.

What cannot be known without running code (a dict built in a loop, a mapping imported from
another module) is skipped and said at DEBUG. A file that does not parse is skipped with a
warning; nothing here is ever fatal.
"""

from __future__ import annotations

import ast
import io
import logging
import tokenize
from pathlib import Path

from watchman.comfy.syntax_literals import constant_text
from watchman.errors import FileTooLargeError
from watchman.regular_files import read_regular

logger = logging.getLogger(__name__)

MAPPING_NAME = "NODE_CLASS_MAPPINGS"
NODE_ID_KEYWORD = "node_id"

# Generated or vendored files beyond this size are not node definitions worth parsing, and
# parsing them costs memory; real node files are well under a megabyte.
MAX_SOURCE_BYTES = 4 * 1024 * 1024

# Cheap byte test before parsing: a file naming neither marker declares no node classes.
_MARKERS = (MAPPING_NAME.encode(), NODE_ID_KEYWORD.encode())


PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)
"""What ``ast.parse`` raises on a stranger's text: bad syntax, null bytes, and code
nested past what the parser or the recursion limit allows."""


def parse_failure(error: BaseException) -> str:
    """Return why a text did not parse, in a few words, for one of :data:`PARSE_ERRORS`
    (a MemoryError from the parser carries no message of its own)."""
    if isinstance(error, (MemoryError, RecursionError)):
        return "nested deeper than the Python parser can follow"
    if isinstance(error, SyntaxError) and error.msg:
        return f"{error.msg}, line {error.lineno}" if error.lineno else error.msg
    return str(error) or type(error).__name__


def node_classes_in_source(text: str, filename: str) -> frozenset[str]:
    """Return the node class names declared in Python source text.

    Args:
        text: the source code.
        filename: where it came from, for log messages only.

    Returns:
        The class names found; empty when the text does not parse (a warning is logged).
    """
    try:
        tree = ast.parse(text, filename=filename)
    except PARSE_ERRORS as error:
        logger.warning(
            "Skipping %s: it does not parse as Python (%s).", filename, parse_failure(error)
        )
        return frozenset()
    return frozenset(_NodeClassCollector(tree, filename).collect())


def node_classes_in_file(path: Path) -> frozenset[str]:
    """Return the node class names declared in one Python file.

    Args:
        path: a ``.py`` file.

    Returns:
        The class names found; empty when the file is unreadable, too large, not decodable
        or not valid Python (a warning is logged in each case).
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
    if not any(marker in data for marker in _MARKERS):
        return frozenset()
    text = decode_source(data, str(path))
    if text is None:
        return frozenset()
    return node_classes_in_source(text, str(path))


def decode_source(data: bytes, filename: str) -> str | None:
    """Decode Python source bytes the way Python does (BOM, ``coding:`` cookie, else UTF-8).

    Returns:
        The text, or None when it cannot be decoded (a warning is logged).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        logger.warning("Skipping %s: its text cannot be decoded (%s).", filename, error)
        return None


def syntax_nodes(tree: ast.AST) -> list[ast.AST]:
    """Return every node of ``tree`` in ``ast.walk``'s order (breadth first), as a list.

    Half the time of ``list(ast.walk(tree))``: the node reading of a cold node inventory
    walks ~1,800 files' trees, and the standard walk's generators were its largest cost.
    """
    found: list[ast.AST] = [tree]
    append = found.append
    for node in found:  # grows while it is read: each node's children join the end
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)
            elif isinstance(value, ast.AST):
                append(value)
    return found


class _NodeClassCollector:
    """One pass over a syntax tree, gathering declared node class names."""

    def __init__(self, tree: ast.Module, filename: str) -> None:
        self.tree = tree
        self.filename = filename
        # Names bound to literal dicts / strings anywhere in the file, so that merges like
        # {**A, **B} and keys like {NAME: Cls} resolve. The last binding in file order wins,
        # as it would at run time for straight-line module code.
        self.dicts: dict[str, ast.expr] = {}
        self.strings: dict[str, str] = {}

    def collect(self) -> set[str]:
        nodes = syntax_nodes(self.tree)
        for node in nodes:
            self._remember_literal(node)
        found: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    found |= self._from_assignment(target, node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                found |= self._from_assignment(node.target, node.value)
            elif isinstance(node, ast.AugAssign) and _is_mapping_name(node.target):
                found |= self._keys_of(node.value, set())
            elif isinstance(node, ast.Call):
                found |= self._from_call(node)
        return found

    def _remember_literal(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            return
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if isinstance(value, ast.Dict) or (
                isinstance(value, ast.Call) and _is_dict_constructor(value)
            ):
                self.dicts[target.id] = value
            elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.strings[target.id] = value.value

    def _from_assignment(self, target: ast.expr, value: ast.expr) -> set[str]:
        if _is_mapping_name(target):
            return self._keys_of(value, set())
        if isinstance(target, ast.Subscript) and _is_mapping_name(target.value):
            key = self._string_of(target.slice)
            if key is None:
                self._skip(target, "an item assignment with a non-literal key")
                return set()
            return {key}
        return set()

    def _from_call(self, call: ast.Call) -> set[str]:
        found: set[str] = set()
        for keyword in call.keywords:
            if keyword.arg == NODE_ID_KEYWORD:
                node_id = self._string_of(keyword.value)
                if node_id is None:
                    self._skip(keyword.value, "a node_id= that is not a literal string")
                else:
                    found.add(node_id)
        function = call.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "update"
            and _is_mapping_name(function.value)
        ):
            for argument in call.args:
                found |= self._keys_of(argument, set())
            found |= {keyword.arg for keyword in call.keywords if keyword.arg is not None}
            for keyword in call.keywords:
                if keyword.arg is None:
                    found |= self._keys_of(keyword.value, set())
        return found

    def _keys_of(self, value: ast.expr, seen: set[str]) -> set[str]:
        """String keys of a dict expression, following names bound to literal dicts."""
        if isinstance(value, ast.Dict):
            keys: set[str] = set()
            for key, item in zip(value.keys, value.values, strict=True):
                if key is None:  # {**other}
                    keys |= self._keys_of(item, seen)
                    continue
                text = self._string_of(key)
                if text is None:
                    self._skip(key, "a dict key that is not a literal string")
                else:
                    keys.add(text)
            return keys
        if isinstance(value, ast.Name) and value.id in self.dicts and value.id not in seen:
            return self._keys_of(self.dicts[value.id], seen | {value.id})
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
            return self._keys_of(value.left, seen) | self._keys_of(value.right, seen)
        if isinstance(value, ast.Call) and _is_dict_constructor(value):
            keys = {keyword.arg for keyword in value.keywords if keyword.arg is not None}
            for keyword in value.keywords:
                if keyword.arg is None:
                    keys |= self._keys_of(keyword.value, seen)
            for argument in value.args:
                keys |= self._keys_of(argument, seen)
            return keys
        self._skip(value, "a mapping that is not a literal dict in this file")
        return set()

    def _string_of(self, node: ast.expr) -> str | None:
        text = constant_text(node)  # a literal, or an f-string without fields
        if text is None and isinstance(node, ast.Name):
            return self.strings.get(node.id)
        return text

    def _skip(self, node: ast.AST, what: str) -> None:
        logger.debug(
            "%s:%s: %s; not counted (only literal declarations are read).",
            self.filename,
            getattr(node, "lineno", "?"),
            what,
        )


def _is_mapping_name(node: ast.expr) -> bool:
    # Also `module.NODE_CLASS_MAPPINGS` / `self.NODE_CLASS_MAPPINGS`: the attribute name is
    # the declaration that matters to ComfyUI's loader.
    if isinstance(node, ast.Name):
        return node.id == MAPPING_NAME
    return isinstance(node, ast.Attribute) and node.attr == MAPPING_NAME


def _is_dict_constructor(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id == "dict"
