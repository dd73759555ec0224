"""Which running node and output slot feed each linked input, where the workflow says so
surely; every doubtful link is left out."""

from __future__ import annotations

from typing import Any

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


def test_a_reroute_or_primitive_source_is_not_judged() -> None:
    nodes = [
        node(4, "LoadImage"),
        node(5, "Reroute", socket("", "*", 21)),
        node(6, "PrimitiveNode"),
        node(3, "SaveImage", socket("images", "IMAGE", 20)),
        node(7, "ImageScale", {**socket("width", "INT", 22), "widget": {"name": "width"}}),
    ]
    links = [[21, 4, 1, 5, 0, "IMAGE"], [20, 5, 0, 3, 0, "IMAGE"], [22, 6, 0, 7, 0, "INT"]]
    parsed = ui(nodes, links)
    assert by_id(parsed, "3").fed_by == ()
    assert by_id(parsed, "7").fed_by == ()


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
