"""Node types a pack registers in the frontend alone are read from its scripts as text,
or known for the packs whose scripts compute them."""

from __future__ import annotations

from watchman.comfy.frontend_nodes import (
    KNOWN_FRONTEND_NODES,
    known_for_pack,
    pack_registering,
    registered_in_script,
)
from watchman.comfy.node_map import ExtensionNodeMap, pack_for_missing_node


def test_literal_names_given_to_register_node_type_are_read() -> None:
    script = (
        b'LiteGraph.registerNodeType("SetNode", Object.assign(SetNode, {title: "Set"}));\n'
        b"LiteGraph.registerNodeType( 'GetNode', GetNode);\n"
        b"LiteGraph.registerNodeType(`Note Plus (mtb)`, NotePlus);\n"
    )
    assert registered_in_script(script) == {"SetNode", "GetNode", "Note Plus (mtb)"}


def test_computed_names_and_other_calls_are_not_guessed() -> None:
    script = (
        b"LiteGraph.registerNodeType(FastGroupsBypasser.type, FastGroupsBypasser);\n"
        b'LiteGraph.registerNodeType(`${prefix} node`, X);\nregister("NotANode");\n'
        b'// registerNodeType("line\\nbreak")\n'
    )
    assert registered_in_script(script) == set()


def test_a_script_of_openings_that_never_close_is_read_in_one_pass() -> None:
    assert registered_in_script(b'registerNodeType("unclosed\n' * 100_000) == set()


def test_known_packs_are_recognised_by_repository_or_folder_name() -> None:
    rgthree = known_for_pack(["https://github.com/rgthree/rgthree-comfy.git"])
    assert "Fast Groups Bypasser (rgthree)" in rgthree
    assert known_for_pack([None, "comfyui-kjnodes"]) == ("GetNode", "SetNode")
    assert known_for_pack(["ComfyUI-Something-Else"]) == ()


def test_a_missing_frontend_node_names_its_pack_though_the_map_does_not() -> None:
    assert pack_registering("SetNode") == "https://github.com/kijai/ComfyUI-KJNodes"
    empty_map = ExtensionNodeMap.from_document({})
    found = pack_for_missing_node("Fast Groups Muter (rgthree)", None, None, empty_map)
    assert (found.status, found.pack) == ("found", "https://github.com/rgthree/rgthree-comfy")
    without_map = pack_for_missing_node("easy setNode", None, None, None)
    assert without_map.pack == "https://github.com/yolain/ComfyUI-Easy-Use"
    assert pack_for_missing_node("NoSuchNode", None, None, None).status == "unknown"


def test_every_known_name_belongs_to_one_pack() -> None:
    names = [name for types in KNOWN_FRONTEND_NODES.values() for name in types]
    assert len(names) == len(set(names))
