"""Which pack provides a missing node type, as the report shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from watchman.comfy.node_map import ExtensionNodeMap, pack_for_missing_node
from watchman.comfy.workflow_ui import is_instance_type
from watchman.stages.inventory.nodes import NodeInventory
from watchman.stages.needs import NodeNeed


def pack_finder(
    nodes: NodeInventory, node_map: ExtensionNodeMap | None
) -> Callable[[NodeNeed], dict[str, Any]]:
    """Return a function giving, for one missing node type, the pack to install as a
    report-ready dict: undefined in the workflow, installed but disabled, or what the
    workflow's ``cnr_id``/``aux_id`` and ComfyUI-Manager's map say."""

    def find(need: NodeNeed) -> dict[str, Any]:
        if is_instance_type(need.node_type):
            return {
                "status": "undefined_in_workflow",
                "url": None,
                "title": None,
                "candidates": [],
                "reason": "the workflow uses a subgraph or group node it does not define; "
                "get a complete copy of the workflow",
            }
        disabled = [pack for pack in nodes.packs_defining(need.node_type) if not pack.enabled]
        if disabled:
            return {
                "status": "installed_disabled",
                "url": disabled[0].git_remote,
                "title": disabled[0].name,
                "candidates": [],
                "reason": f"pack {disabled[0].name} is installed but disabled: enable it",
            }
        source = pack_for_missing_node(need.node_type, need.cnr_id, need.aux_id, node_map)
        return {
            "status": source.status,
            "url": source.pack,
            "title": source.candidates[0].title if len(source.candidates) == 1 else None,
            "candidates": [{"url": c.url, "title": c.title} for c in source.candidates],
            "reason": source.reason,
        }

    return find
