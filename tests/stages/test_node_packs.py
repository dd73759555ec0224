"""A missing node type whose pack is installed and enabled is advice to update that pack,
never to install it again."""

from __future__ import annotations

from watchman.comfy.node_map import ExtensionNodeMap
from watchman.stages.inventory.nodes import NodeInventory, NodePack
from watchman.stages.needs import NodeNeed
from watchman.stages.node_packs import advise

KJ_URL = "https://github.com/kijai/ComfyUI-KJNodes"
NODE_MAP = ExtensionNodeMap.from_document(
    {KJ_URL: [["ImageResizeKJ", "NewKJNode"], {"title_aux": "KJNodes"}]}
)


def kj_pack(
    name: str = "ComfyUI-KJNodes", remote: str | None = KJ_URL + ".git", enabled: bool = True
) -> NodePack:
    return NodePack(
        name, f"/c/custom_nodes/{name}", "folder", enabled, remote, None, None, ("ImageResizeKJ",)
    )


def test_a_node_type_newer_than_the_installed_pack_is_an_update() -> None:
    nodes = NodeInventory(frozenset(), (kj_pack(),))
    advice = advise(NodeNeed("NewKJNode", ("7",), None, None), nodes, NODE_MAP)
    assert (advice.status, advice.title) == ("outdated_pack", "ComfyUI-KJNodes")
    assert "does not register NewKJNode" in str(advice.reason)


def test_the_installed_pack_is_recognised_by_its_folder_or_its_registry_id() -> None:
    # A registry install: no git remote, the folder named by the pack id.
    nodes = NodeInventory(frozenset(), (kj_pack("comfyui-kjnodes", remote=None),))
    by_map = advise(NodeNeed("NewKJNode", ("7",), None, None), nodes, NODE_MAP)
    by_registry = advise(NodeNeed("Unlisted", ("8",), "comfyui-kjnodes", None), nodes, NODE_MAP)
    assert by_map.status == by_registry.status == "outdated_pack"


def test_a_pack_not_installed_or_disabled_keeps_its_own_advice() -> None:
    elsewhere = NodeInventory(frozenset(), (kj_pack("Other", remote="https://x.invalid/o"),))
    assert advise(NodeNeed("NewKJNode", ("7",), None, None), elsewhere, NODE_MAP).status == "found"
    off = NodeInventory(frozenset(), (kj_pack(enabled=False),))
    assert advise(NodeNeed("NewKJNode", ("7",), None, None), off, NODE_MAP).status == "found"
