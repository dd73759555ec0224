"""Reading Python source as text and syntax, never by importing it: the helpers the node
type and loader readers share (decoding as Python does, the parse errors a stranger's
text raises, a fast walk of a syntax tree, the ``NODE_CLASS_MAPPINGS`` name).

Importing a custom node pack runs its code, so the inventory reads the syntax tree only;
which node types a file or a pack declares is :mod:`watchman.comfy.pack_node_types`.
"""

from __future__ import annotations

import ast
import io
import logging
import tokenize

logger = logging.getLogger(__name__)

MAPPING_NAME = "NODE_CLASS_MAPPINGS"
NODE_ID_KEYWORD = "node_id"

# Generated or vendored files beyond this size are not node definitions worth parsing, and
# parsing them costs memory; real node files are well under a megabyte.
MAX_SOURCE_BYTES = 4 * 1024 * 1024

# Cheap byte test before parsing: a file naming neither marker declares no node classes.
MARKERS = (MAPPING_NAME.encode(), NODE_ID_KEYWORD.encode())


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


def syntax_nodes(tree: ast.AST, limit: int | None = None) -> list[ast.AST]:
    """Return every node of ``tree`` in ``ast.walk``'s order (breadth first), as a list;
    only the first ``limit`` when one is given.

    Half the time of ``list(ast.walk(tree))``: the node reading of a cold node inventory
    walks ~1,800 files' trees, and the standard walk's generators were its largest cost.
    """
    found: list[ast.AST] = [tree]
    append = found.append
    for node in found:  # grows while it is read: each node's children join the end
        if limit is not None and len(found) >= limit:
            del found[limit:]
            break
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)
            elif isinstance(value, ast.AST):
                append(value)
    return found


def is_mapping_name(node: ast.expr) -> bool:
    """Whether ``node`` names ``NODE_CLASS_MAPPINGS``, also as ``module.`` or ``self.``
    its attribute (the attribute name is what ComfyUI's loader reads)."""
    if isinstance(node, ast.Name):
        return node.id == MAPPING_NAME
    return isinstance(node, ast.Attribute) and node.attr == MAPPING_NAME
