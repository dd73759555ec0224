"""A pack's node keeps its widget layout for the offline check of list values only when
ComfyUI surely runs that very class."""

from __future__ import annotations

from watchman.comfy.loader_source import LearnedLoader
from watchman.comfy.widget_layout import WidgetSlot
from watchman.stages.inventory.nodes import NodeInventory, NodePack

LAYOUT = (WidgetSlot("mode", "combo", frozenset({"a", "b"})),)


def pack(name: str, types: tuple[str, ...], enabled: bool = True, layout: bool = True) -> NodePack:
    loaders = tuple(
        LearnedLoader(node_type, ("mode",), (), layout=LAYOUT if layout else ())
        for node_type in types
    )
    return NodePack(
        name, f"/c/custom_nodes/{name}", "folder", enabled, None, None, None, types,
        loaders=loaders,
    )  # fmt: skip


def layouts(nodes: NodeInventory) -> dict[str, bool]:
    return {loader.node_type: bool(loader.layout) for loader in nodes.learned_loaders()}


def test_a_node_type_only_one_enabled_pack_registers_keeps_its_layout() -> None:
    assert layouts(NodeInventory(frozenset(), (pack("a", ("Foo",)),))) == {"Foo": True}


def test_a_disabled_packs_or_a_shadowed_core_types_layout_is_not_kept() -> None:
    assert layouts(NodeInventory(frozenset(), (pack("a", ("Foo",), enabled=False),))) == {
        "Foo": False
    }
    assert layouts(NodeInventory(frozenset({"Foo"}), (pack("a", ("Foo",)),))) == {"Foo": False}


def test_two_enabled_packs_registering_one_node_type_leave_it_unchecked() -> None:
    # The other pack's class writes no list (no loader of its own): still ambiguous.
    nodes = NodeInventory(frozenset(), (pack("a", ("Foo",)), pack("b", ("Foo",), layout=False)))
    assert [bool(loader.layout) for loader in nodes.learned_loaders()] == [False, False]
