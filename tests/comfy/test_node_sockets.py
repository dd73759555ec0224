"""Which inputs of a node only a link can give, and whether it is an output node."""

from __future__ import annotations

from dataclasses import replace

from watchman.comfy.node_sockets import SocketRules, is_socket, socket_rules


def sockets_only(node_info: object) -> SocketRules | None:
    """The rules of a definition without their link types (``test_link_types`` reads
    those)."""
    found = socket_rules(node_info)
    return replace(found, types=None) if found is not None else None


def test_required_sockets_and_the_output_flag_are_read_from_a_definition() -> None:
    sampler = {
        "input": {
            "required": {
                "model": ["MODEL"],
                "seed": ["INT", {"default": 0}],
                "sampler_name": [["euler", "dpmpp_2m"], {}],
                "scheduler": ["COMBO", {"options": ["normal"]}],
                "positive": ["CONDITIONING", {}],
            },
            "optional": {"mask": ["MASK"]},
        },
        "output_node": False,
    }
    assert sockets_only(sampler) == SocketRules(frozenset({"model", "positive"}), False)
    save = {"input": {"required": {"images": ["IMAGE"]}}, "output_node": True}
    assert sockets_only(save) == SocketRules(frozenset({"images"}), True)


def test_a_widget_type_marked_force_input_is_a_socket() -> None:
    assert is_socket(["STRING", {"forceInput": True}])
    assert not is_socket(["STRING", {"multiline": True}])
    assert is_socket(["INT,FLOAT"])  # a joined type has no widget
    assert is_socket(["*"])


def test_what_is_not_a_spec_is_not_judged_a_socket() -> None:
    for spec in (None, [], "MODEL", [None], [""], [3], {"type": "MODEL"}):
        assert not is_socket(spec)


def test_a_malformed_definition_gives_no_rules_and_an_output_flag_must_be_true() -> None:
    assert socket_rules(None) is None
    assert socket_rules({"input": "nope"}) is None
    assert sockets_only({"input": {}, "output_node": "yes"}) == SocketRules(frozenset(), False)
    assert sockets_only({"input": {"required": ["MODEL"]}}) == SocketRules(frozenset(), False)


def test_a_dynamic_v3_input_is_not_judged_a_socket_its_members_have_other_names() -> None:
    grown = {"template": {"input": {"required": {"image": ["IMAGE", {}]}}, "prefix": "image_"}}
    node = {
        "input": {
            "required": {
                "images": ["COMFY_AUTOGROW_V3", grown],
                "model": ["COMFY_DYNAMICCOMBO_V3", {"options": []}],
                "vae": ["VAE"],
            }
        }
    }
    assert sockets_only(node) == SocketRules(frozenset({"vae"}), False)


def test_comfyuis_own_widgets_of_other_types_are_not_sockets() -> None:
    recorder = {"input": {"required": {"audio": ["AUDIO_RECORD", {}], "clip": ["CLIP"]}}}
    webcam = {"input": {"required": {"image": ["WEBCAM", {}]}}}
    assert sockets_only(recorder) == SocketRules(frozenset({"clip"}), False)
    assert sockets_only(webcam) == SocketRules(frozenset(), False)
