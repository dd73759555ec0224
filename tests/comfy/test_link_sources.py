"""Which running node and output slot feed each linked input, where the workflow says so
surely; every doubtful link is left out."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from tests.comfy.test_group_inputs import decode_and_save
from tests.comfy.test_group_inputs import instance as group_instance
from tests.comfy.test_group_inputs import workflow as group_workflow
from tests.comfy.test_socket_links import BYPASSED, MUTED, by_id, node, socket, ui
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import ParsedWorkflow


def mask_into_save(*, source_mode: int = 0, slot: Any = 1, **more: Any) -> ParsedWorkflow:
    """LoadImage (4) feeding SaveImage (3) from ``slot``."""
    nodes = [
        node(4, "LoadImage", mode=source_mode),
        node(3, "SaveImage", socket("images", "IMAGE", 20)),
    ]
    return ui(nodes, [[20, 4, slot, 3, 0, "IMAGE"]], **more)


def test_a_link_from_a_running_node_names_its_source_and_slot() -> None:
    assert by_id(mask_into_save(), "3").fed_by == (("images", "4", "LoadImage", 1, "IMAGE"),)


def test_what_a_node_reaches_is_kept_only_when_an_input_of_it_is_open() -> None:
    # Kept for every linked node, the sets were a fifth of a cold cycle's peak.
    assert by_id(mask_into_save(), "3").reaches == ()
    nodes = [
        node(4, "LoadImage"),
        node(3, "SaveImage", socket("images", "IMAGE", 20), socket("mask", "MASK", None)),
    ]
    fed_and_open = by_id(ui(nodes, [[20, 4, 1, 3, 0, "IMAGE"]]), "3")
    assert fed_and_open.reaches == ("SaveImage",) and fed_and_open.fed_by != ()


def test_a_muted_or_bypassed_source_is_not_judged_the_frontend_resolves_it() -> None:
    for mode in (MUTED, BYPASSED):
        assert by_id(mask_into_save(source_mode=mode), "3").fed_by == ()


def test_a_slot_that_is_no_whole_number_of_at_least_zero_is_not_judged() -> None:
    for slot in (-1, True, "1", 1.0, None):
        assert by_id(mask_into_save(slot=slot), "3").fed_by == ()


def test_a_link_id_the_level_holds_twice_or_one_going_elsewhere_is_not_judged() -> None:
    nodes = [node(4, "LoadImage"), node(3, "SaveImage", socket("images", "IMAGE", 20))]
    twice = ui(nodes, [[20, 4, 1, 3, 0, "IMAGE"], [20, 4, 0, 3, 0, "IMAGE"]])
    elsewhere = ui(nodes, [[20, 4, 1, 9, 0, "IMAGE"]])
    absent = ui(nodes, [])
    for parsed in (twice, elsewhere, absent):
        assert by_id(parsed, "3").fed_by == ()


def test_a_link_going_to_another_place_of_the_node_or_an_input_saved_untyped_is_not_judged() -> (
    None
):
    nodes = [node(4, "LoadImage"), node(3, "SaveImage", socket("images", "IMAGE", 20))]
    assert by_id(ui(nodes, [[20, 4, 1, 3, 1, "IMAGE"]]), "3").fed_by == ()
    untyped = [node(4, "LoadImage"), node(3, "SaveImage", {"name": "images", "link": 20})]
    assert by_id(ui(untyped, [[20, 4, 1, 3, 0, "IMAGE"]]), "3").fed_by == ()


def test_an_input_named_twice_is_not_judged() -> None:
    nodes = [
        node(4, "LoadImage"),
        node(3, "SaveImage", socket("images", "IMAGE", 20), socket("images", "IMAGE", None)),
    ]
    assert by_id(ui(nodes, [[20, 4, 1, 3, 0, "IMAGE"]]), "3").fed_by == ()


def test_a_primitive_source_is_not_judged() -> None:
    nodes = [
        node(6, "PrimitiveNode"),
        node(7, "ImageScale", {**socket("width", "INT", 22), "widget": {"name": "width"}}),
    ]
    assert by_id(ui(nodes, [[22, 6, 0, 7, 0, "INT"]]), "7").fed_by == ()


def rerouted(
    *reroutes: dict[str, Any], source: dict[str, Any] | None = None, slot: Any = 1
) -> ParsedWorkflow:
    """LoadImage (4, or ``source``) leaving ``slot`` by link 21 into the first of
    ``reroutes``, the last of which feeds SaveImage (3) by link 20; the links between
    reroutes (ids 22 on) are made from each reroute's input."""
    origin = source or node(4, "LoadImage")
    links = [[21, origin["id"], slot, reroutes[0]["id"], 0, "IMAGE"]]
    for before, after in pairwise(reroutes):
        links.append([after["inputs"][0]["link"], before["id"], 0, after["id"], 0, "*"])
    links.append([20, reroutes[-1]["id"], 0, 3, 0, "*"])
    nodes = [origin, *reroutes, node(3, "SaveImage", socket("images", "IMAGE", 20))]
    return ui(nodes, links)


def reroute(node_id: int, link: int | None, mode: int = 0) -> dict[str, Any]:
    return node(node_id, "Reroute", socket("", "*", link), mode=mode)


MASK_FROM_LOADER = (("images", "4", "LoadImage", 1, "IMAGE"),)


def test_through_a_reroute_the_node_and_slot_entering_it_are_named() -> None:
    # The frontend sends [4, 1] for the input: ComfyUI checks LoadImage's slot 1.
    assert by_id(rerouted(reroute(5, 21)), "3").fed_by == MASK_FROM_LOADER


def test_through_a_chain_of_reroutes_the_link_entering_the_chain_is_named() -> None:
    two = rerouted(reroute(5, 21), reroute(6, 22))
    assert by_id(two, "3").fed_by == MASK_FROM_LOADER
    three = rerouted(reroute(5, 21), reroute(6, 22), reroute(7, 23))
    assert by_id(three, "3").fed_by == MASK_FROM_LOADER


def test_a_muted_reroute_is_looked_through_as_the_frontend_does() -> None:
    assert by_id(rerouted(reroute(5, 21, mode=MUTED)), "3").fed_by == MASK_FROM_LOADER


def test_a_bypassed_reroute_is_not_judged_its_bypass_rules_are_the_frontends() -> None:
    assert by_id(rerouted(reroute(5, 21, mode=BYPASSED), reroute(6, 22)), "3").fed_by == ()


def test_reroutes_fed_by_a_muted_bypassed_or_frontend_only_node_are_not_judged() -> None:
    for mode in (MUTED, BYPASSED):
        fed = rerouted(reroute(5, 21), source=node(4, "LoadImage", mode=mode))
        assert by_id(fed, "3").fed_by == ()
    primitive = rerouted(reroute(5, 21), source=node(4, "PrimitiveNode"), slot=0)
    assert by_id(primitive, "3").fed_by == ()


def test_a_chain_entered_from_a_slot_that_is_no_whole_number_of_at_least_zero_is_not_judged() -> (
    None
):
    for slot in (-1, True, "1", None):
        assert by_id(rerouted(reroute(5, 21), reroute(6, 22), slot=slot), "3").fed_by == ()


def test_reroutes_in_a_loop_or_fed_by_nothing_are_not_judged() -> None:
    nodes = [
        reroute(5, 22),
        reroute(6, 21),
        node(3, "SaveImage", socket("images", "IMAGE", 20)),
    ]
    looped = [[21, 5, 0, 6, 0, "*"], [22, 6, 0, 5, 0, "*"], [20, 6, 0, 3, 0, "*"]]
    assert by_id(ui(nodes, looped), "3").fed_by == ()
    save = node(3, "SaveImage", socket("images", "IMAGE", 20))
    assert by_id(ui([reroute(5, None), save], [[20, 5, 0, 3, 0, "*"]]), "3").fed_by == ()
    # The reroute's input names link 21, which the level does not hold.
    assert by_id(ui([reroute(5, 21), save], [[20, 5, 0, 3, 0, "*"]]), "3").fed_by == ()


def test_a_chain_whose_links_disagree_with_its_reroutes_is_not_judged() -> None:
    loader = node(4, "LoadImage")
    save = node(3, "SaveImage", socket("images", "IMAGE", 20))
    entering_elsewhere = [[21, 4, 1, 9, 0, "IMAGE"], [20, 5, 0, 3, 0, "*"]]
    assert by_id(ui([loader, reroute(5, 21), save], entering_elsewhere), "3").fed_by == ()
    leaving_another_slot = [[21, 4, 1, 5, 0, "IMAGE"], [20, 5, 1, 3, 0, "*"]]
    assert by_id(ui([loader, reroute(5, 21), save], leaving_another_slot), "3").fed_by == ()
    between_from_another_slot = [
        [21, 4, 1, 5, 0, "IMAGE"],
        [22, 5, 1, 6, 0, "*"],
        [20, 6, 0, 3, 0, "*"],
    ]
    chain = [loader, reroute(5, 21), reroute(6, 22), save]
    assert by_id(ui(chain, between_from_another_slot), "3").fed_by == ()
    twice = [loader, reroute(5, 21), reroute(5, 21), save]
    assert by_id(ui(twice, [[21, 4, 1, 5, 0, "IMAGE"], [20, 5, 0, 3, 0, "*"]]), "3").fed_by == ()


def test_one_reroute_feeding_several_inputs_names_its_source_for_each() -> None:
    nodes = [
        node(4, "LoadImage"),
        reroute(5, 21),
        node(3, "SaveImage", socket("images", "IMAGE", 20)),
        node(8, "PreviewImage", socket("images", "IMAGE", 23)),
    ]
    links = [[21, 4, 0, 5, 0, "IMAGE"], [20, 5, 0, 3, 0, "*"], [23, 5, 0, 8, 0, "*"]]
    parsed = ui(nodes, links)
    assert by_id(parsed, "3").fed_by == (("images", "4", "LoadImage", 0, "IMAGE"),)
    assert by_id(parsed, "8").fed_by == (("images", "4", "LoadImage", 0, "IMAGE"),)


def test_a_long_chain_of_reroutes_is_looked_through_without_recursion() -> None:
    length = 5_000  # past Python's recursion limit: a recursive walk would fail
    chain = [reroute(100 + n, 21 if n == 0 else 1_000 + n) for n in range(length)]
    assert by_id(rerouted(*chain), "3").fed_by == MASK_FROM_LOADER


def test_a_widget_input_a_running_node_feeds_is_judged_as_sent() -> None:
    nodes = [
        node(4, "LoadImage"),
        node(7, "ImageScale", {**socket("width", "INT", 22), "widget": {"name": "width"}}),
    ]
    parsed = ui(nodes, [[22, 4, 0, 7, 0, "INT"]])
    assert by_id(parsed, "7").fed_by == (("width", "4", "LoadImage", 0, "INT"),)


def test_inside_a_subgraph_an_inner_link_is_named_by_the_inner_ids() -> None:
    subgraph_id = "22222222-3333-4444-8555-666666666666"
    definition = {
        "id": subgraph_id,
        "nodes": [node(1, "LoadImage"), node(2, "SaveImage", socket("images", "IMAGE", 30))],
        "links": [
            {"id": 30, "origin_id": 1, "origin_slot": 1, "target_id": 2, "target_slot": 0},
        ],
    }
    parsed = ui([node(9, subgraph_id)], [], definitions={"subgraphs": [definition]})
    assert by_id(parsed, "9:2").fed_by == (("images", "9:1", "LoadImage", 1, "IMAGE"),)


def test_inside_a_subgraph_a_chain_of_reroutes_is_named_by_the_inner_ids() -> None:
    subgraph_id = "22222222-3333-4444-8555-666666666666"
    definition = {
        "id": subgraph_id,
        "nodes": [
            node(1, "LoadImage"),
            reroute(3, 31),
            node(2, "SaveImage", socket("images", "IMAGE", 30)),
        ],
        "links": [
            {"id": 31, "origin_id": 1, "origin_slot": 1, "target_id": 3, "target_slot": 0},
            {"id": 30, "origin_id": 3, "origin_slot": 0, "target_id": 2, "target_slot": 0},
        ],
    }
    parsed = ui([node(9, subgraph_id)], [], definitions={"subgraphs": [definition]})
    assert by_id(parsed, "9:2").fed_by == (("images", "9:1", "LoadImage", 1, "IMAGE"),)


def test_a_chain_of_reroutes_from_the_subgraphs_inputs_is_not_judged_as_a_direct_link() -> None:
    subgraph_id = "22222222-3333-4444-8555-666666666666"
    definition = {
        "id": subgraph_id,
        "nodes": [reroute(3, 31), node(2, "SaveImage", socket("images", "IMAGE", 30))],
        "links": [
            {"id": 31, "origin_id": -10, "origin_slot": 0, "target_id": 3, "target_slot": 0},
            {"id": 30, "origin_id": 3, "origin_slot": 0, "target_id": 2, "target_slot": 0},
        ],
    }
    outer = [node(4, "LoadImage"), {**node(9, subgraph_id), "inputs": [socket("i", "MASK", 40)]}]
    parsed = ui(outer, [[40, 4, 1, 9, 0, "MASK"]], definitions={"subgraphs": [definition]})
    assert by_id(parsed, "9:2").fed_by == ()


def test_a_link_from_the_subgraphs_inputs_is_not_judged() -> None:
    subgraph_id = "22222222-3333-4444-8555-666666666666"
    definition = {
        "id": subgraph_id,
        "nodes": [node(2, "SaveImage", socket("images", "IMAGE", 30))],
        "links": [
            {"id": 30, "origin_id": -10, "origin_slot": 0, "target_id": 2, "target_slot": 0},
        ],
    }
    parsed = ui([node(9, subgraph_id)], [], definitions={"subgraphs": [definition]})
    assert by_id(parsed, "9:2").fed_by == ()


def test_a_workflow_holding_a_broadcasting_node_judges_no_link() -> None:
    nodes = [
        node(4, "LoadImage"),
        node(3, "SaveImage", socket("images", "IMAGE", 20)),
        node(8, "Anything Everywhere"),
    ]
    assert by_id(ui(nodes, [[20, 4, 1, 3, 0, "IMAGE"]]), "3").fed_by == ()


def test_an_api_prompt_names_each_link_to_a_node_it_holds() -> None:
    prompt = {
        "4": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["4", 1], "filename_prefix": "x", "other": ["9", 0]},
        },
        "5": {"class_type": "PreviewImage", "inputs": {"images": [4, 0]}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["4", -1]}},
    }
    parsed = parse_api_prompt(prompt)
    assert by_id(parsed, "3").fed_by == (("images", "4", "LoadImage", 1, ""),)
    assert by_id(parsed, "5").fed_by == ()  # ComfyUI looks "4" up, not 4
    assert by_id(parsed, "6").fed_by == ()  # -1 is Python's last: not judged


def test_links_all_recorded_are_whole_with_muted_sources_and_primitives_left_out() -> None:
    assert mask_into_save().links_whole
    assert rerouted(reroute(5, 21), reroute(6, 22)).links_whole
    # A muted node is left out by the frontend, link and all; a primitive sends a value.
    assert mask_into_save(source_mode=MUTED).links_whole
    nodes = [
        node(6, "PrimitiveNode"),
        node(7, "ImageScale", {**socket("width", "INT", 22), "widget": {"name": "width"}}),
    ]
    assert ui(nodes, [[22, 6, 0, 7, 0, "INT"]]).links_whole


def test_a_link_that_may_reach_comfyui_unrecorded_makes_the_links_not_whole() -> None:
    nodes = [node(4, "LoadImage"), node(3, "SaveImage", socket("images", "IMAGE", 20))]
    in_doubt = [
        mask_into_save(source_mode=BYPASSED),  # the frontend passes an input through
        mask_into_save(slot=-1),
        ui(nodes, [[20, 4, 1, 3, 0, "IMAGE"], [20, 4, 0, 3, 0, "IMAGE"]]),  # held twice
        ui(nodes, [[20, 4, 1, 9, 0, "IMAGE"]]),  # going elsewhere
        ui(nodes, []),  # a link the level lacks
        rerouted(reroute(5, 21, mode=BYPASSED)),  # a reroute chain not followed
        # A legacy group node: its inner nodes are fed through the instance's inputs.
        group_workflow(group_instance(), decode_and_save()),
    ]
    for parsed in in_doubt:
        assert not parsed.links_whole


def test_a_node_that_sends_to_inputs_no_link_names_makes_the_links_not_whole() -> None:
    nodes = [node(4, "LoadImage"), node(9, "Anything Everywhere", socket("anything", "*", 20))]
    assert not ui(nodes, [[20, 4, 0, 9, 0, "IMAGE"]]).links_whole


def test_an_api_prompt_never_claims_whole_links_its_nodes_keep_their_reach() -> None:
    prompt = {
        "4": {"class_type": "LoadImage", "inputs": {}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["4", 1]}},
    }
    assert not parse_api_prompt(prompt).links_whole
