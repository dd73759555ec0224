"""Required inputs nothing feeds, judged with a live server's socket rules."""

from __future__ import annotations

from typing import Any

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import NodeUse
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.socket_needs import MAX_UNLINKED, UnlinkedInput, find_unlinked_inputs

RULES = {
    "KSampler": SocketRules(frozenset({"model", "positive", "negative", "latent_image"}), False),
    "VAEDecode": SocketRules(frozenset({"samples", "vae"}), False),
    "SaveImage": SocketRules(frozenset({"images"}), True),
    "PreviewImage": SocketRules(frozenset({"images"}), True),
    "CheckpointLoaderSimple": SocketRules(frozenset(), False),
}


def sockets(node_type: str) -> SocketRules | None:
    return RULES.get(node_type)


def use(
    node_type: str, open_inputs: tuple[str, ...], reaches: tuple[str, ...], **more: Any
) -> NodeUse:
    return NodeUse(
        "1",
        node_type,
        False,
        False,
        None,
        None,
        None,
        open_inputs=open_inputs,
        reaches=reaches,
        **more,
    )


def test_a_required_input_nothing_feeds_on_a_node_an_output_needs_is_found() -> None:
    node = use("KSampler", ("model", "mask"), ("KSampler", "SaveImage", "VAEDecode"))
    assert find_unlinked_inputs([node], sockets) == (UnlinkedInput("1", "KSampler", ("model",)),)


def test_an_optional_input_left_open_is_fine() -> None:
    node = use("KSampler", ("mask",), ("KSampler", "SaveImage"))
    assert find_unlinked_inputs([node], sockets) == ()


def test_a_node_no_output_needs_is_not_judged() -> None:
    stray = use("KSampler", ("model",), ("KSampler", "VAEDecode"))
    assert find_unlinked_inputs([stray], sockets) == ()


def test_an_output_node_itself_is_judged() -> None:
    save = use("SaveImage", ("images",), ("SaveImage",))
    assert find_unlinked_inputs([save], sockets) == (UnlinkedInput("1", "SaveImage", ("images",)),)


def test_a_type_the_server_does_not_define_is_not_judged() -> None:
    node = use("FancySampler", ("model",), ("FancySampler", "SaveImage"))
    assert find_unlinked_inputs([node], sockets) == ()


def test_inactive_nodes_are_not_judged() -> None:
    node = NodeUse(
        "1",
        "SaveImage",
        True,
        False,
        None,
        None,
        None,
        open_inputs=("images",),
        reaches=("SaveImage",),
    )
    assert find_unlinked_inputs([node], sockets) == ()


def test_an_api_prompts_absent_required_input_is_found() -> None:
    prompt = {
        "1": {"class_type": "KSampler", "inputs": {"model": ["2", 0], "seed": 1}},
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["2", 2]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}},
    }
    found = find_unlinked_inputs(parse_api_prompt(prompt).nodes, sockets)
    assert found == (UnlinkedInput("1", "KSampler", ("latent_image", "negative", "positive")),)


def test_a_ui_workflow_and_its_api_prompt_give_the_same_finding() -> None:
    ui = {
        "nodes": [
            {
                "id": 3,
                "type": "VAEDecode",
                "inputs": [
                    {"name": "samples", "type": "LATENT", "link": None},
                    {"name": "vae", "type": "VAE", "link": None},
                ],
            },
            {
                "id": 4,
                "type": "SaveImage",
                "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
            },
        ],
        "links": [[1, 3, 0, 4, 0, "IMAGE"]],
    }
    api = {
        "3": {"class_type": "VAEDecode", "inputs": {}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}},
    }
    from_ui = find_unlinked_inputs(parse_ui_workflow(ui).nodes, sockets)
    from_api = find_unlinked_inputs(parse_api_prompt(api).nodes, sockets)
    assert from_ui == from_api == (UnlinkedInput("3", "VAEDecode", ("samples", "vae")),)


def test_at_most_so_many_nodes_are_named() -> None:
    nodes = [use("SaveImage", ("images",), ("SaveImage",)) for _ in range(MAX_UNLINKED + 7)]
    assert len(find_unlinked_inputs(nodes, sockets)) == MAX_UNLINKED
