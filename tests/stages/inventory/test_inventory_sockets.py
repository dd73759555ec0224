"""The socket rules the offline check judges by: only those of a class ComfyUI surely
runs, and the node inventory's cache keeps them."""

from __future__ import annotations

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.static_sockets import StaticSockets
from watchman.stages.inventory.nodes import NodeInventory, NodePack

SAMPLER = SocketRules(frozenset({"model", "latent"}), False, frozenset({"model"}))
SAVER = SocketRules(frozenset({"images"}), True)


WAN_SAMPLER = SocketRules(
    frozenset({"model", "wan"}), False, frozenset({"model"}), typed=(("wan", "WANVIDEOMODEL"),)
)


def pack(
    name: str,
    sockets: StaticSockets,
    enabled: bool = True,
    patches: tuple[str, ...] = (),
    words: tuple[str, ...] | None = (),
) -> NodePack:
    types = tuple(node_type for node_type, _ in sockets)
    return NodePack(
        name, f"/c/custom_nodes/{name}", "folder", enabled, None, None, None, types,
        sockets=sockets, patched_classes=patches, frontend_words=words,
    )  # fmt: skip


def test_the_cores_and_one_enabled_packs_rules_are_judged_by() -> None:
    nodes = NodeInventory(
        frozenset({"KSampler"}),
        (pack("a", (("Saver", SAVER),)),),
        core_sockets=(("KSampler", SAMPLER),),
    )
    assert nodes.static_sockets() == {"KSampler": SAMPLER, "Saver": SAVER}


def test_a_pack_never_replaces_a_core_node_types_rules() -> None:
    nodes = NodeInventory(
        frozenset({"KSampler"}),
        (pack("a", (("KSampler", SAVER),)),),
        core_sockets=(("KSampler", SAMPLER),),
    )
    assert nodes.static_sockets() == {"KSampler": SAMPLER}


def test_a_node_type_two_enabled_packs_register_is_not_judged() -> None:
    nodes = NodeInventory(
        frozenset(), (pack("a", (("Saver", SAVER),)), pack("b", (("Saver", SAVER),)))
    )
    assert nodes.static_sockets() == {}


def test_a_patched_class_a_disabled_pack_or_one_that_failed_to_import_is_not_judged() -> None:
    patcher = pack("patcher", (), patches=("KSampler",))
    assert (
        NodeInventory(
            frozenset({"KSampler"}), (patcher,), core_sockets=(("KSampler", SAMPLER),)
        ).static_sockets()
        == {}
    )
    disabled = pack("a", (("Saver", SAVER),), enabled=False)
    assert NodeInventory(frozenset(), (disabled,)).static_sockets() == {}
    failed = pack("b", (("Saver", SAVER),))
    nodes = NodeInventory(frozenset(), (failed,), import_failed=frozenset({failed.path}))
    assert nodes.static_sockets() == {}


def test_the_cache_document_keeps_the_rules() -> None:
    nodes = NodeInventory(
        frozenset({"KSampler"}),
        (pack("a", (("Saver", SAVER),)),),
        core_signature="core",
        core_sockets=(("KSampler", SAMPLER),),
    )
    again = NodeInventory.from_cache_document(nodes.to_cache_document())
    assert again.static_sockets() == nodes.static_sockets()
    assert again.core_signature == "core"


def test_a_cache_written_before_the_rules_were_read_makes_the_next_scan_read_again() -> None:
    nodes = NodeInventory(
        frozenset({"KSampler"}),
        (NodePack("a", "/c/a", "folder", True, None, None, None, ("Saver",), signature="s"),),
        core_signature="core",
    )
    document = nodes.to_cache_document()
    del document["core_sockets"]
    del document["packs"][0]["sockets"]
    again = NodeInventory.from_cache_document(document)
    assert again.core_signature == ""
    assert again.packs[0].signature == ""


def test_the_inputs_a_saved_node_lists_are_those_of_the_rules_judged_by() -> None:
    nodes = NodeInventory(
        frozenset({"KSampler"}),
        (pack("a", (("Saver", SAVER),)),),
        core_sockets=(("KSampler", SAMPLER),),
    )
    assert nodes.listed_sockets() == {"KSampler": frozenset({"model"})}


def test_a_pack_s_own_type_no_script_names_is_listed_too() -> None:
    nodes = NodeInventory(frozenset(), (pack("wan", (("WanSampler", WAN_SAMPLER),)),))
    assert nodes.listed_sockets() == {"WanSampler": frozenset({"model", "wan"})}


def test_a_pack_type_an_enabled_pack_s_script_names_may_be_a_widget_and_is_not_listed() -> None:
    colours = pack("colours", (), words=("LINK_COLORS", "WANVIDEOMODEL"))
    nodes = NodeInventory(frozenset(), (pack("wan", (("WanSampler", WAN_SAMPLER),)), colours))
    assert nodes.listed_sockets() == {"WanSampler": frozenset({"model"})}


def test_no_pack_type_is_listed_while_one_enabled_pack_s_scripts_are_not_known() -> None:
    unread = pack("bundle", (), words=None)
    nodes = NodeInventory(frozenset(), (pack("wan", (("WanSampler", WAN_SAMPLER),)), unread))
    assert nodes.listed_sockets() == {"WanSampler": frozenset({"model"})}
    # A disabled pack's scripts are never loaded by the frontend.
    disabled = pack("bundle", (), enabled=False, words=None)
    nodes = NodeInventory(frozenset(), (pack("wan", (("WanSampler", WAN_SAMPLER),)), disabled))
    assert nodes.listed_sockets() == {"WanSampler": frozenset({"model", "wan"})}


def test_the_cache_document_keeps_a_pack_s_script_words_and_their_absence() -> None:
    nodes = NodeInventory(
        frozenset(),
        (
            pack("a", (("WanSampler", WAN_SAMPLER),), words=("MY_WIDGET",)),
            pack("b", (), words=None),
        ),
    )
    again = NodeInventory.from_cache_document(nodes.to_cache_document())
    assert [p.frontend_words for p in again.packs] == [("MY_WIDGET",), None]
    assert again.static_sockets() == nodes.static_sockets()
