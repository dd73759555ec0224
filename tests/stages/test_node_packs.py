"""A missing node type whose pack is installed is advice to update that pack (and to
enable it first when it is disabled), never to install it again."""

from __future__ import annotations

from dataclasses import replace

from watchman.comfy.node_map import ExtensionNodeMap
from watchman.stages.inventory.nodes import NodeInventory, NodePack
from watchman.stages.needs import NodeNeed
from watchman.stages.node_packs import advise

KJ_URL = "https://github.com/kijai/ComfyUI-KJNodes"
NODE_MAP = ExtensionNodeMap.from_document(
    {KJ_URL: [["ImageResizeKJ", "NewKJNode"], {"title_aux": "KJNodes"}]}
)


def kj_pack(
    name: str = "ComfyUI-KJNodes",
    remote: str | None = KJ_URL + ".git",
    enabled: bool = True,
    path: str | None = None,
) -> NodePack:
    folder = path or f"/c/custom_nodes/{name}"
    return NodePack(name, folder, "folder", enabled, remote, None, None, ("ImageResizeKJ",))


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


def test_a_pack_not_installed_keeps_its_own_advice() -> None:
    elsewhere = NodeInventory(frozenset(), (kj_pack("Other", remote="https://x.invalid/o"),))
    assert advise(NodeNeed("NewKJNode", ("7",), None, None), elsewhere, NODE_MAP).status == "found"


def test_a_disabled_pack_older_than_the_workflow_is_to_enable_and_update() -> None:
    off = kj_pack(enabled=False, path="/c/custom_nodes/ComfyUI-KJNodes.disabled")
    advice = advise(
        NodeNeed("NewKJNode", ("7",), None, None), NodeInventory(frozenset(), (off,)), NODE_MAP
    )
    assert (advice.status, advice.title) == ("disabled_outdated_pack", "ComfyUI-KJNodes")
    assert advice.path == "/c/custom_nodes/ComfyUI-KJNodes.disabled"
    assert "disabled" in str(advice.reason) and "does not register NewKJNode" in str(advice.reason)


def test_a_disabled_registry_install_is_recognised_by_the_node_s_cnr_id() -> None:
    # ComfyUI-Manager moved it into custom_nodes/.disabled/, under its pack id.
    off = kj_pack(
        "comfyui-kjnodes",
        remote=None,
        enabled=False,
        path="/c/custom_nodes/.disabled/comfyui-kjnodes",
    )
    nodes = NodeInventory(frozenset(), (off,))
    advice = advise(NodeNeed("Unlisted", ("8",), "comfyui-kjnodes", None), nodes, NODE_MAP)
    assert advice.status == "disabled_outdated_pack"


def test_a_disabled_pack_that_registers_the_node_type_is_only_to_enable() -> None:
    nodes = NodeInventory(frozenset(), (kj_pack(enabled=False),))
    advice = advise(NodeNeed("ImageResizeKJ", ("7",), None, None), nodes, NODE_MAP)
    assert advice.status == "installed_disabled"


def test_an_enabled_copy_beside_a_disabled_one_is_the_one_to_update() -> None:
    off = kj_pack(enabled=False, path="/c/custom_nodes/.disabled/ComfyUI-KJNodes")
    nodes = NodeInventory(frozenset(), (off, kj_pack()))
    advice = advise(NodeNeed("NewKJNode", ("7",), None, None), nodes, NODE_MAP)
    assert (advice.status, advice.path) == ("outdated_pack", "/c/custom_nodes/ComfyUI-KJNodes")


FILE_URL = "https://raw.githubusercontent.com/someone/nodes/main/AspectRatio.py"


def test_a_single_file_pack_is_known_by_its_file_s_url_and_keeps_it() -> None:
    node_map = ExtensionNodeMap.from_document({FILE_URL: [["Old", "NewRatio"], {}]})
    single = NodePack(
        "AspectRatio", "/c/custom_nodes/AspectRatio.py", "file", True, None, None, None, ("Old",)
    )
    nodes = NodeInventory(frozenset(), (single,))
    advice = advise(NodeNeed("NewRatio", ("7",), None, None), nodes, node_map)
    assert (advice.status, advice.single_file, advice.url) == ("outdated_pack", True, FILE_URL)


def test_a_folder_pack_is_no_single_file() -> None:
    nodes = NodeInventory(frozenset(), (kj_pack(),))
    advice = advise(NodeNeed("NewKJNode", ("7",), None, None), nodes, NODE_MAP)
    assert advice.single_file is False and advice.url == KJ_URL + ".git"


def test_a_folder_without_git_is_advised_as_such_with_the_map_s_url() -> None:
    copy = kj_pack(remote=None)
    advice = advise(
        NodeNeed("NewKJNode", ("7",), None, None), NodeInventory(frozenset(), (copy,)), NODE_MAP
    )
    assert (advice.status, advice.without_git, advice.registry_id) == (
        "outdated_pack",
        True,
        None,
    )
    assert advice.url == KJ_URL  # where a newer copy comes from


def test_a_registry_install_carries_its_registry_id() -> None:
    installed = replace(kj_pack("kjnodes-folder", remote=None), registry_id="comfyui-kjnodes")
    nodes = NodeInventory(frozenset(), (installed,))
    # Recognised by its registry id although its folder has another name.
    advice = advise(NodeNeed("Unlisted", ("8",), "comfyui-kjnodes", None), nodes, NODE_MAP)
    assert (advice.status, advice.registry_id) == ("outdated_pack", "comfyui-kjnodes")


def test_a_git_checkout_is_not_without_git() -> None:
    nodes = NodeInventory(frozenset(), (kj_pack(),))
    advice = advise(NodeNeed("NewKJNode", ("7",), None, None), nodes, NODE_MAP)
    assert advice.without_git is False and advice.registry_id is None
