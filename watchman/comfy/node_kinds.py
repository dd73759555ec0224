"""Kinds of node types: frontend-only virtual nodes and ComfyUI's core node class list.

A frontend-only node lives in the ComfyUI web frontend alone (``isVirtualNode``): it is
never sent to the server, so it is never "missing" whatever is installed. The list here
holds only the nodes the ComfyUI frontend itself registers; virtual nodes of custom node
packs (rgthree's Fast Groups Bypasser, Use Everywhere, ...) need their pack and are not
listed. ``PrimitiveString`` / ``PrimitiveInt`` / ... are real server nodes
(``comfy_extras/nodes_primitive.py``), not frontend-only.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

FRONTEND_ONLY_NODES: frozenset[str] = frozenset(
    {
        # ComfyUI_frontend extensions/core/noteNode.ts
        "Note",
        "MarkdownNote",
        # extensions/core/rerouteNode.ts
        "Reroute",
        # extensions/core/widgetInputs.ts
        "PrimitiveNode",
    }
)
"""Node types registered by the ComfyUI frontend as virtual nodes."""


def is_frontend_only(node_type: str) -> bool:
    """Return whether ``node_type`` is a frontend-only virtual node (never missing)."""
    return node_type in FRONTEND_ONLY_NODES


def parse_core_node_list(text: str) -> frozenset[str]:
    """Return the node class names listed in a ``core_nodes.txt``-style text.

    Takes the text: one name a line, ``#`` lines and blank lines ignored. Returns the
    names, frontend-only names included when the text lists them. Never raises.
    """
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            names.add(stripped)
    return frozenset(names)
