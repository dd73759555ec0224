"""Node types a pack registers in the ComfyUI frontend alone, with its JavaScript.

KJNodes' ``SetNode`` / ``GetNode``, rgthree's ``Fast Groups Bypasser (rgthree)``, Easy-Use's
``easy setNode``: these virtual nodes live in the browser (``isVirtualNode``) and are never
sent to the server, so neither the pack's Python mappings nor a live server's
``/object_info`` lists them. A workflow using them needs the pack installed and enabled,
and nothing more.

Two sources, neither run:

* the pack's scripts, read as text: ``registerNodeType("Name", …)`` with a literal name
  (:func:`registered_in_script`);
* :data:`KNOWN_FRONTEND_NODES`, for packs whose scripts compute the name (rgthree writes
  ``registerNodeType(FastGroupsBypasser.type, …)``) and to name the pack a missing one
  comes from (ComfyUI-Manager's map lists only Python node types). Facts read from each
  pack's source: the names its frontend registers that its Python does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

MAX_SCRIPT_BYTES = 2 * 1024 * 1024
"""A larger script (a bundled library) is not read for node names."""
MAX_SCRIPTS = 1_000
"""Scripts read per pack at most."""
SCRIPT_SUFFIXES = (".js", ".mjs")

_REGISTERED = re.compile(rb"registerNodeType\(\s*([\"'`])([^\"'`\\\r\n]{1,200})\1")

_RGTHREE = "https://github.com/rgthree/rgthree-comfy"
KNOWN_FRONTEND_NODES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "https://github.com/kijai/ComfyUI-KJNodes": ("GetNode", "SetNode"),
        _RGTHREE: tuple(
            f"{name} (rgthree)"
            for name in (
                "Bookmark",
                "Fast Actions Button",
                "Fast Bypasser",
                "Fast Groups Bypasser",
                "Fast Groups Muter",
                "Fast Muter",
                "Label",
                "Mute / Bypass Relay",
                "Mute / Bypass Repeater",
                "Node Collector",
                "Node Combiner",
                "Power Conductor",
                "Random Unmuter",
                "Reroute",
            )
        ),
        "https://github.com/yolain/ComfyUI-Easy-Use": (
            "easy bookmark",
            "easy getNode",
            "easy setNode",
        ),
        "https://github.com/melMass/comfy_mtb": ("Constant (mtb)", "Note Plus (mtb)"),
        "https://github.com/pythongosssss/ComfyUI-Custom-Scripts": ("PresetText|pysssss",),
    }
)
"""Repository URL -> the node types its frontend registers and its Python does not
(rgthree-comfy, KJNodes, Easy-Use, comfy_mtb and Custom-Scripts at their 2026 heads)."""

_BY_NODE_TYPE: Mapping[str, str] = MappingProxyType(
    {node_type: url for url, types in KNOWN_FRONTEND_NODES.items() for node_type in types}
)


def registered_in_script(data: bytes) -> set[str]:
    """Return the node type names a script registers with a literal name.

    Takes the script's bytes. Linear in their length; never raises.
    """
    if b"registerNodeType" not in data:
        return set()
    return {
        match.group(2).decode("utf-8", "replace")
        for match in _REGISTERED.finditer(data)
        if b"${" not in match.group(2)  # a template literal's field: computed, not known
    }


def repository_name(identity: str) -> str:
    """The lower-case name a pack is known by across its spellings: a repository URL
    (``https://github.com/kijai/ComfyUI-KJNodes.git`` -> ``comfyui-kjnodes``), a registry
    page (its pack id) or a folder name (a registry install's folder is the pack id)."""
    return identity.strip().rstrip("/").removesuffix(".git").rsplit("/", 1)[-1].lower()


def known_for_pack(identities: Iterable[str | None]) -> tuple[str, ...]:
    """Return the known frontend node types of the pack whose repository URL or folder
    name is among ``identities`` (compared by :func:`repository_name`)."""
    names = {repository_name(identity) for identity in identities if identity}
    for url, types in KNOWN_FRONTEND_NODES.items():
        if repository_name(url) in names:
            return types
    return ()


def pack_registering(node_type: str) -> str | None:
    """Return the repository URL of the known pack whose frontend registers
    ``node_type``, or None."""
    return _BY_NODE_TYPE.get(node_type)
