"""Links whose source's output the input they feed does not take: found where both
types are surely known and ComfyUI would compare them, never on a guess."""

from __future__ import annotations

from tests.comfy.test_link_sources import reroute, rerouted
from tests.comfy.test_socket_links import by_id
from watchman.comfy.link_types import CHOICES, LinkTypes
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import FedInput, NodeUse
from watchman.stages.link_type_needs import (
    MAX_MISMATCHED,
    MismatchedLink,
    find_mismatched_links,
    link_types_lookup,
    needed_by_outputs,
)

TYPES = {
    "LoadImage": LinkTypes(("IMAGE", "MASK"), (), False),
    "SaveImage": LinkTypes((), (("images", "IMAGE"),), False),
    "Upscale": LinkTypes(("IMAGE",), (("image", "IMAGE,MASK"), ("method", CHOICES)), False),
    "Switch": LinkTypes(("*",), (("on_true", "IMAGE"),), True),
    "Unsure": LinkTypes(("IMAGE",), (("image", "IMAGE"),), None),
    "Computed": LinkTypes(None, (), False),
}
OUTPUTS = {"SaveImage"}


def sockets(node_type: str) -> SocketRules | None:
    return SocketRules(frozenset(), node_type in OUTPUTS, types=TYPES.get(node_type))


def fed(node_id: str, node_type: str, *links: FedInput, reaches: str = "SaveImage") -> NodeUse:
    return NodeUse(
        node_id, node_type, False, False, None, None, None, fed_by=links, reaches=(reaches,)
    )


def find(*nodes: NodeUse) -> tuple[MismatchedLink, ...]:
    return find_mismatched_links(nodes, TYPES.get, sockets)


def test_a_mask_fed_where_an_image_is_declared_is_found() -> None:
    assert find(fed("3", "SaveImage", ("images", "4", "LoadImage", 1, ""))) == (
        MismatchedLink("3", "SaveImage", "images", "4", "LoadImage", 1, "MASK", "IMAGE"),
    )


def test_a_slot_the_source_no_longer_has_is_found_with_no_received_type() -> None:
    assert find(fed("3", "SaveImage", ("images", "4", "LoadImage", 2, ""))) == (
        MismatchedLink("3", "SaveImage", "images", "4", "LoadImage", 2, None, "IMAGE"),
    )


def test_a_fitting_link_a_union_and_a_star_pass() -> None:
    assert find(fed("3", "SaveImage", ("images", "4", "LoadImage", 0, ""))) == ()
    assert find(fed("5", "Upscale", ("image", "4", "LoadImage", 1, ""))) == ()
    assert find(fed("3", "SaveImage", ("images", "6", "Switch", 0, ""))) == ()


def test_a_list_of_choices_fed_a_text_type_is_found_and_named_in_words() -> None:
    [found] = find(fed("5", "Upscale", ("method", "4", "LoadImage", 0, "")))
    assert (found.received, found.expected) == ("IMAGE", "a list of choices")


def test_a_ui_input_saved_with_another_type_than_declared_now_is_not_judged() -> None:
    assert find(fed("3", "SaveImage", ("images", "4", "LoadImage", 1, "LATENT"))) == ()
    [found] = find(fed("3", "SaveImage", ("images", "4", "LoadImage", 1, "IMAGE")))
    assert found.received == "MASK"
    [listed] = find(fed("5", "Upscale", ("method", "4", "LoadImage", 0, "COMBO")))
    assert listed.expected == "a list of choices"


def test_a_node_whose_validation_takes_the_types_or_may_is_not_judged() -> None:
    assert find(fed("6", "Switch", ("on_true", "4", "LoadImage", 1, ""))) == ()
    assert find(fed("7", "Unsure", ("image", "4", "LoadImage", 1, ""))) == ()


def test_unknown_outputs_unknown_inputs_and_unknown_types_are_not_judged() -> None:
    assert find(fed("3", "SaveImage", ("images", "8", "Computed", 0, ""))) == ()
    assert find(fed("3", "SaveImage", ("images", "8", "Elsewhere", 0, ""))) == ()
    assert find(fed("3", "SaveImage", ("prefix", "4", "LoadImage", 1, ""))) == ()
    assert find(fed("9", "Elsewhere", ("images", "4", "LoadImage", 1, ""))) == ()


def test_a_node_that_reaches_no_output_or_does_not_run_is_not_judged() -> None:
    link = ("image", "4", "LoadImage", 1, "")
    assert find(fed("5", "Upscale", ("method", *link[1:]), reaches="Upscale")) == ()
    muted = NodeUse("3", "SaveImage", False, True, None, None, None, fed_by=(link,))
    assert find(muted) == ()


def test_a_ui_node_fed_by_links_alone_keeps_no_reach_and_is_judged_all_the_same() -> None:
    link = ("image", "4", "LoadImage", 1, "")
    kept_no_reach = NodeUse(
        "5", "Upscale", False, False, None, None, None, fed_by=(("method", *link[1:]),)
    )
    assert [found.input for found in find(kept_no_reach)] == ["method"]


def test_at_most_the_bound_is_listed() -> None:
    nodes = [fed(str(n), "SaveImage", ("images", "4", "LoadImage", 1, "")) for n in range(60)]
    assert len(find(*nodes)) == MAX_MISMATCHED


def test_beside_a_server_whether_a_node_checks_its_links_comes_from_the_source() -> None:
    served = {"SaveImage": LinkTypes((), (("images", "IMAGE"),), None)}

    def server(node_type: str) -> SocketRules | None:
        found = served.get(node_type)
        return SocketRules(frozenset(), True, types=found) if found else None

    read = {"SaveImage": SocketRules(frozenset(), True, types=TYPES["SaveImage"])}
    assert link_types_lookup(server, read)("SaveImage") == TYPES["SaveImage"]
    assert link_types_lookup(server, {})("SaveImage") == served["SaveImage"]
    assert link_types_lookup(server)("Elsewhere") is None


def test_a_mask_fed_through_a_reroute_or_a_chain_of_two_is_found() -> None:
    # LoadImage's slot 1 (a mask) enters the chain; SaveImage declares an image.
    expected = MismatchedLink("3", "SaveImage", "images", "4", "LoadImage", 1, "MASK", "IMAGE")
    for parsed in (rerouted(reroute(5, 21)), rerouted(reroute(5, 21), reroute(6, 22))):
        assert find(by_id(parsed, "3")) == (expected,)


def test_an_image_fed_through_a_reroute_fits_and_a_bypassed_reroute_is_not_judged() -> None:
    assert find(by_id(rerouted(reroute(5, 21), slot=0), "3")) == ()
    assert find(by_id(rerouted(reroute(5, 21, mode=4)), "3")) == ()


def plain(node_id: str, node_type: str, *links: FedInput, mode: str = "") -> NodeUse:
    """A UI node fed by links alone: it keeps no reach."""
    return NodeUse(
        node_id, node_type, mode == "bypassed", mode == "muted", None, None, None, fed_by=links
    )


def output_flag(node_type: str) -> bool | None:
    return {"SaveImage": True, "LoadImage": False, "Upscale": False}.get(node_type)


# LoadImage 4 -> Upscale 5 -> SaveImage 3, and a branch no output needs: 4's mask into
# Upscale 6, whose output goes nowhere.
LIVE = plain("5", "Upscale", ("image", "4", "LoadImage", 0, ""))
SAVE = plain("3", "SaveImage", ("images", "5", "Upscale", 0, ""))
DEAD = plain("6", "Upscale", ("method", "4", "LoadImage", 1, ""))
WORKFLOW = (plain("4", "LoadImage"), LIVE, SAVE, DEAD)


def test_what_the_outputs_need_is_followed_back_through_the_links() -> None:
    assert needed_by_outputs(WORKFLOW, output_flag, sockets) == frozenset({"3", "5", "4"})


def test_a_mismatch_no_output_needs_is_not_judged_where_the_links_are_whole() -> None:
    needed = needed_by_outputs(WORKFLOW, output_flag, sockets)
    assert find_mismatched_links(WORKFLOW, TYPES.get, sockets, needed) == ()
    # Without knowing what is needed (links not whole), it is shown, as before.
    [shown] = find_mismatched_links(WORKFLOW, TYPES.get, sockets)
    assert shown.node_id == "6"


def test_a_mismatch_on_the_branch_an_output_needs_is_still_found() -> None:
    wrong = plain("5", "Upscale", ("method", "4", "LoadImage", 1, ""))
    nodes = (plain("4", "LoadImage"), wrong, SAVE, DEAD)
    needed = needed_by_outputs(nodes, output_flag, sockets)
    assert [link.node_id for link in find_mismatched_links(nodes, TYPES.get, sockets, needed)] == [
        "5"
    ]


def test_a_node_of_unknown_kind_may_be_an_output_and_keeps_its_sources_needed() -> None:
    mystery = plain("7", "MysteryPreview", ("image", "6", "Upscale", 0, ""))
    needed = needed_by_outputs((*WORKFLOW, mystery), output_flag, sockets)
    assert needed is not None and {"6", "7"} <= needed
    assert find_mismatched_links((*WORKFLOW, mystery), TYPES.get, sockets, needed) != ()


def test_a_muted_or_bypassed_output_needs_nothing() -> None:
    for mode in ("muted", "bypassed"):
        save = plain("3", "SaveImage", ("images", "5", "Upscale", 0, ""), mode=mode)
        needed = needed_by_outputs((plain("4", "LoadImage"), LIVE, save), output_flag, sockets)
        assert needed == frozenset()


def test_records_that_do_not_hold_together_need_everything_judged() -> None:
    stranger = plain("3", "SaveImage", ("images", "99", "Upscale", 0, ""))
    assert needed_by_outputs((plain("4", "LoadImage"), stranger), output_flag, sockets) is None
    twice = (plain("4", "LoadImage"), plain("4", "Upscale"), SAVE)
    assert needed_by_outputs(twice, output_flag, sockets) is None


def test_a_loop_of_links_is_followed_once() -> None:
    first = plain("1", "Upscale", ("image", "2", "Upscale", 0, ""))
    second = plain("2", "Upscale", ("image", "1", "Upscale", 0, ""))
    save = plain("3", "SaveImage", ("images", "1", "Upscale", 0, ""))
    assert needed_by_outputs((first, second, save), output_flag, sockets) == frozenset(
        {"1", "2", "3"}
    )


def test_a_packs_virtual_node_the_frontend_links_through_needs_everything_judged() -> None:
    """LoadImage 4's mask -> Upscale 5 -> SetNode 8; GetNode 9 -> SaveImage 3: the frontend
    sends 5's output to 3, a link no record shows. 5's input must still be judged."""

    def flag(node_type: str) -> bool | None:
        return False if node_type in ("SetNode", "GetNode") else output_flag(node_type)

    nodes = (
        plain("4", "LoadImage"),
        plain("5", "Upscale", ("method", "4", "LoadImage", 1, "")),
        plain("8", "SetNode", ("value", "5", "Upscale", 0, "")),
        plain("9", "GetNode"),
        plain("3", "SaveImage", ("images", "9", "GetNode", 0, "")),
    )

    def known(node_type: str) -> SocketRules | None:
        return sockets(node_type) if node_type in TYPES else None  # no backend class

    assert needed_by_outputs(nodes, flag, known) is None
    # Known to the backend, the same nodes would leave 5 outside: the guard is what judges it.
    assert needed_by_outputs(nodes, flag, sockets) == frozenset({"3", "9"})
    assert [link.node_id for link in find_mismatched_links(nodes, TYPES.get, sockets)] == ["5"]
