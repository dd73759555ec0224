"""Required inputs nothing feeds, and workflows with no output, judged with a live
server's socket rules."""

from __future__ import annotations

from typing import Any

from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import NodeUse
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.stages.socket_needs import (
    MAX_INACTIVE_OUTPUTS,
    MAX_UNLINKED,
    InactiveOutput,
    NoOutput,
    UnlinkedInput,
    find_no_output,
    find_unlinked_inputs,
    output_flags,
    source_output_flags,
)

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


def flags(node_type: str) -> bool | None:
    rules = RULES.get(node_type)
    return None if rules is None else rules.output


def state(
    node_type: str, node_id: str = "1", *, bypassed: bool = False, muted: bool = False
) -> NodeUse:
    return NodeUse(node_id, node_type, bypassed, muted, None, None, None)


def test_a_workflow_whose_nodes_are_all_known_and_none_an_output_has_no_output() -> None:
    nodes = [state("CheckpointLoaderSimple", "1"), state("KSampler", "2"), state("VAEDecode", "3")]
    assert find_no_output(nodes, flags) == NoOutput(())


def test_one_active_output_node_is_enough() -> None:
    nodes = [state("KSampler", "2"), state("PreviewImage", "9")]
    assert find_no_output(nodes, flags) is None


def test_a_node_of_unknown_kind_may_be_the_output_so_nothing_is_said() -> None:
    nodes = [state("KSampler", "2"), state("FancySaver", "9")]
    assert find_no_output(nodes, flags) is None


def test_bypassed_and_muted_outputs_are_named_as_the_ones_to_enable() -> None:
    nodes = [
        state("KSampler", "2"),
        state("SaveImage", "9", bypassed=True),
        state("PreviewImage", "10", muted=True),
        state("VAEDecode", "11", bypassed=True),  # switched off, but no output: not named
    ]
    assert find_no_output(nodes, flags) == NoOutput(
        (
            InactiveOutput("9", "SaveImage", "bypassed"),
            InactiveOutput("10", "PreviewImage", "muted"),
        )
    )


def test_an_unknown_type_that_is_switched_off_does_not_stop_the_judgement() -> None:
    nodes = [state("KSampler", "2"), state("FancySaver", "9", muted=True)]
    assert find_no_output(nodes, flags) == NoOutput(())


def test_subgraph_instances_are_not_nodes_of_their_own() -> None:
    nodes = [state("a1b2-subgraph", "5"), state("KSampler", "5:2")]
    assert find_no_output(nodes, flags, frozenset({"a1b2-subgraph"})) == NoOutput(())
    assert find_no_output(nodes, flags) is None  # read as a node type: unknown


def test_a_workflow_without_nodes_is_not_judged() -> None:
    assert find_no_output([], flags) is None
    only_instance = [state("a1b2-subgraph", "5")]
    assert find_no_output(only_instance, flags, frozenset({"a1b2-subgraph"})) is None


def test_at_most_so_many_switched_off_outputs_are_named() -> None:
    nodes = [state("SaveImage", str(n), bypassed=True) for n in range(MAX_INACTIVE_OUTPUTS + 3)]
    found = find_no_output(nodes, flags)
    assert found is not None and len(found.inactive) == MAX_INACTIVE_OUTPUTS


def test_the_server_flags_say_frontend_only_nodes_are_no_outputs() -> None:
    is_output = output_flags(sockets, frozenset({"SetNode"}))
    assert is_output("SaveImage") is True
    assert is_output("KSampler") is False
    assert is_output("Note") is False and is_output("Reroute") is False  # ComfyUI's own
    assert is_output("SetNode") is False  # a pack's, registered by its script
    assert is_output("FancySaver") is None


def test_a_ui_workflow_of_notes_and_loaders_has_no_output() -> None:
    ui = {
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0,
             "widgets_values": ["a.safetensors"]},
            {"id": 2, "type": "Note", "mode": 0, "widgets_values": ["read me"]},
            {"id": 3, "type": "SaveImage", "mode": 4,
             "inputs": [{"name": "images", "type": "IMAGE", "link": None}]},
        ],
        "links": [],
    }  # fmt: skip
    parsed = parse_ui_workflow(ui)
    found = find_no_output(parsed.nodes, output_flags(sockets, frozenset()), parsed.subgraph_ids)
    assert found == NoOutput((InactiveOutput("3", "SaveImage", "bypassed"),))


def test_the_source_s_flags_are_used_only_when_they_find_saveimage_an_output() -> None:
    read = {
        "SaveImage": SocketRules(frozenset({"images"}), True),
        "KSampler": SocketRules(frozenset({"model"}), False),
        "Preview": SocketRules(frozenset({"images"}), False, output_known=False),
    }
    is_output = source_output_flags(read, frozenset())
    assert is_output is not None
    assert is_output("SaveImage") is True and is_output("KSampler") is False
    assert is_output("Preview") is None  # its flag is not known from the source
    # A reading that finds SaveImage no output, or does not know it, misreads the core.
    misread = dict(read, SaveImage=SocketRules(frozenset({"images"}), False))
    assert source_output_flags(misread, frozenset()) is None
    unsure = dict(read, SaveImage=SocketRules(frozenset(), False, output_known=False))
    assert source_output_flags(unsure, frozenset()) is None
    assert source_output_flags({"KSampler": read["KSampler"]}, frozenset()) is None
