"""Legacy group nodes (``extra.groupNodes``): what an instance of one expands to.

Older frontends saved a group of nodes as a definition under ``extra.groupNodes`` and its
instances as nodes typed ``workflow>Name`` (or ``workflow/Name``). The instance holds the
live widget values of all its inner nodes, one after the other in the definition's node
order; each inner node's own ``widgets_values`` only says how many are its. Every field is
a stranger's and checked for its JSON type; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP_NODE_PREFIXES = ("workflow>", "workflow/")


def group_name(node_type: str) -> str:
    """Return the definition name a group node instance's type names (after the prefix)."""
    return node_type.split(">", 1)[1] if ">" in node_type else node_type.split("/", 1)[1]


def expand_group_instance(
    instance: Mapping[str, Any], definition: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Return the inner nodes of one group node instance, each a copy with its id (its
    ``index`` in the definition, else its position) and its share of the instance's
    widget values; when the instance's values do not add up to the inner nodes' counts,
    the inner nodes keep their own values."""
    raw_inner = definition.get("nodes")
    inner = (
        [item for item in raw_inner if isinstance(item, dict)]
        if isinstance(raw_inner, list)
        else []
    )
    counts = [
        len(item["widgets_values"]) if isinstance(item.get("widgets_values"), list) else 0
        for item in inner
    ]
    instance_values = instance.get("widgets_values")
    shared = instance_values if isinstance(instance_values, list) else None
    if shared is not None and sum(counts) != len(shared):
        shared = None
    expanded = []
    start = 0
    for position, (item, count) in enumerate(zip(inner, counts, strict=True)):
        copy = dict(item)
        copy["id"] = item.get("index", position)
        if shared is not None and count:
            copy["widgets_values"] = shared[start : start + count]
        start += count
        expanded.append(copy)
    return expanded
