"""Which socket inputs of a legacy group node's inner nodes nothing feeds."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.faults.fuzz import document_paths, set_at
from watchman.comfy.loader_lookup import LoaderTable, loader_table
from watchman.comfy.workflow_model import NodeUse, ParsedWorkflow
from watchman.comfy.workflow_ui import parse_ui_workflow
from watchman.errors import WorkflowError

MUTED, BYPASSED = 2, 4
INSTANCE = 5


def socket(name: str, kind: str, link: int | None = None, **more: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "link": link, **more}


def output(kind: str, *links: int) -> dict[str, Any]:
    return {"name": kind, "type": kind, "links": list(links) or None}


def inner(node_type: str, *inputs: dict[str, Any], outputs: tuple = (), mode: int = 0) -> dict:
    return {"type": node_type, "mode": mode, "inputs": list(inputs), "outputs": list(outputs)}


def decode_and_save(**more: Any) -> dict[str, Any]:
    """A definition: a VAEDecode feeding a SaveImage inside the group. Its group inputs
    are the decoder's ``samples`` and ``vae``; it shows no output."""
    return {
        "nodes": [
            inner(
                "VAEDecode",
                socket("samples", "LATENT"),
                socket("vae", "VAE"),
                outputs=(output("IMAGE", 3),),
            ),
            inner("SaveImage", socket("images", "IMAGE", 3)),
        ],
        "links": [[0, 0, 1, 0, 8, "IMAGE"]],
        "external": [],
        **more,
    }


def instance(*inputs: dict[str, Any], outputs: tuple = (), mode: int = 0) -> dict[str, Any]:
    return {
        "id": INSTANCE,
        "type": "workflow>Decode",
        "mode": mode,
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def workflow(
    group: dict[str, Any],
    definition: dict[str, Any],
    *outer: dict[str, Any],
    links: tuple = (),
    table: LoaderTable | None = None,
) -> ParsedWorkflow:
    document = {
        "nodes": [group, *outer],
        "links": list(links),
        "extra": {"groupNodes": {"Decode": definition}},
    }
    return parse_ui_workflow(document, table=table)


LATENT_AND_VAE = (
    {"id": 1, "type": "EmptyLatentImage", "mode": 0},
    {"id": 2, "type": "VAELoader", "mode": 0},
)
FEEDING_LINKS = ([10, 1, 0, INSTANCE, 0, "LATENT"], [11, 2, 0, INSTANCE, 1, "VAE"])


def by_id(parsed: ParsedWorkflow, node_id: str) -> NodeUse:
    return next(use for use in parsed.nodes if use.node_id == node_id)


def opened(parsed: ParsedWorkflow) -> dict[str, tuple[str, ...]]:
    return {use.node_id: use.open_inputs for use in parsed.nodes if use.open_inputs}


def test_inner_sockets_fed_through_the_groups_inputs_are_not_open() -> None:
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE", 11))
    parsed = workflow(group, decode_and_save(), *LATENT_AND_VAE, links=FEEDING_LINKS)
    assert opened(parsed) == {}


def test_an_inner_socket_whose_group_input_nothing_feeds_is_open_and_reaches_the_save() -> None:
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE"))
    parsed = workflow(group, decode_and_save(), *LATENT_AND_VAE, links=FEEDING_LINKS[:1])
    decoder = by_id(parsed, "5:0")
    assert decoder.open_inputs == ("vae",)
    assert decoder.reaches == ("SaveImage", "VAEDecode")
    # The save's input is fed by the link inside the definition, whatever its copy says.
    assert by_id(parsed, "5:1").open_inputs == ()


def test_a_group_input_linked_from_a_muted_node_feeds_nothing() -> None:
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE", 11))
    muted_loader = {"id": 2, "type": "VAELoader", "mode": MUTED}
    parsed = workflow(
        group, decode_and_save(), LATENT_AND_VAE[0], muted_loader, links=FEEDING_LINKS
    )
    assert opened(parsed) == {"5:0": ("vae",)}


def test_a_muted_inner_source_feeds_nothing_and_a_bypassed_one_is_not_judged() -> None:
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE", 11))
    for mode, expected in ((MUTED, {"5:1": ("images",)}), (BYPASSED, {})):
        definition = decode_and_save()
        definition["nodes"][0]["mode"] = mode
        parsed = workflow(group, definition, *LATENT_AND_VAE, links=FEEDING_LINKS)
        assert opened(parsed) == expected, mode


def test_a_socket_the_definition_hides_from_the_group_feeds_nothing() -> None:
    config = {"0": {"input": {"vae": {"visible": False}}}}
    group = instance(socket("samples", "LATENT", 10))
    parsed = workflow(group, decode_and_save(config=config), *LATENT_AND_VAE, links=FEEDING_LINKS)
    assert opened(parsed) == {"5:0": ("vae",)}


@pytest.mark.parametrize("mode", [BYPASSED, MUTED])
def test_a_bypassed_or_muted_group_judges_none_of_its_nodes(mode: int) -> None:
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"), mode=mode)
    assert opened(workflow(group, decode_and_save())) == {}


def test_a_second_socket_of_a_name_is_the_input_named_after_its_node() -> None:
    # Two decoders: the second one's inputs are named after its type, as the frontend
    # names a name taken; each decoder's output is one of the group's outputs, and only
    # the second one's goes on, to a save.
    decoder = inner(
        "VAEDecode", socket("samples", "LATENT"), socket("vae", "VAE"), outputs=(output("IMAGE"),)
    )
    definition = {"nodes": [decoder, decoder], "links": []}
    group = instance(
        socket("samples", "LATENT", 10),
        socket("vae", "VAE"),
        socket("VAEDecode samples", "LATENT", 12),
        socket("VAEDecode vae", "VAE"),
        {"name": "seed", "type": "INT", "widget": {"name": "seed"}, "link": None},
        outputs=(output("IMAGE"), output("IMAGE", 13)),
    )
    save = {"id": 3, "type": "SaveImage", "mode": 0}
    links = (FEEDING_LINKS[0], [12, 1, 0, INSTANCE, 2, "LATENT"], [13, INSTANCE, 1, 3, 0, "IMAGE"])
    parsed = workflow(group, definition, *LATENT_AND_VAE, save, links=links)
    assert opened(parsed) == {"5:0": ("vae",), "5:1": ("vae",)}
    assert by_id(parsed, "5:0").reaches == ("VAEDecode",)
    assert by_id(parsed, "5:1").reaches == ("SaveImage", "VAEDecode")


WIDGET = {"name": "cfg", "type": "FLOAT", "widget": {"name": "cfg"}, "link": None}


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param([], id="the instance lists no inputs"),
        pytest.param([socket("samples", "LATENT"), socket("decoder", "VAE")], id="another name"),
        pytest.param([socket("samples", "LATENT"), socket("vae", "MODEL")], id="another type"),
        pytest.param([socket("samples", "LATENT"), WIDGET, socket("vae", "VAE")], id="widget"),
        pytest.param(
            [socket("samples", "LATENT"), socket("vae", "VAE", widget={"name": "vae"})],
            id="a widget's input in a socket's place",
        ),
        pytest.param(
            [socket("samples", "LATENT"), socket("vae", "VAE"), socket("extra", "VAE")],
            id="one socket more",
        ),
    ],
)
def test_a_group_whose_inputs_do_not_line_up_with_its_definition_is_not_judged(
    inputs: list[dict[str, Any]],
) -> None:
    assert opened(workflow(instance(*inputs), decode_and_save())) == {}


def test_a_group_whose_outputs_do_not_line_up_with_its_definition_is_not_judged() -> None:
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"), outputs=(output("IMAGE"),))
    assert opened(workflow(group, decode_and_save())) == {}
    # Unlinked inside, the decoder's output is the group's, and the save's input too.
    definition = decode_and_save(links=[])
    group["inputs"].append(socket("images", "IMAGE"))
    assert opened(workflow(group, definition)) == {"5:0": ("samples", "vae"), "5:1": ("images",)}
    group["outputs"] = [output("LATENT")]
    assert opened(workflow(group, definition)) == {}


def test_an_inner_node_whose_widget_input_comes_before_a_socket_is_not_judged() -> None:
    definition = decode_and_save()
    definition["nodes"][0]["inputs"].insert(0, WIDGET)
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"))
    assert opened(workflow(group, definition)) == {}


def test_an_inner_socket_of_a_widget_type_is_not_judged() -> None:
    # The frontend makes a widget of it from the install's definition, not a socket.
    definition = decode_and_save()
    definition["nodes"][0]["inputs"].append(socket("tile_size", "INT"))
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"), socket("tile_size", "INT"))
    assert opened(workflow(group, definition)) == {}


@pytest.mark.parametrize("node_type", ["workflow>Other", "11111111-2222-4333-8444-555555555555"])
def test_a_definition_holding_another_group_or_a_subgraph_is_not_judged(node_type: str) -> None:
    definition = decode_and_save()
    definition["nodes"].append(inner(node_type))
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"))
    assert opened(workflow(group, definition)) == {}


def reroute(kind: str = "*", *links: int) -> dict[str, Any]:
    return inner(
        "Reroute", socket("", "*"), outputs=({"name": "", "type": kind, "links": list(links)},)
    )


def primitive(kind: str) -> dict[str, Any]:
    value = {"name": "connect to widget input", "type": kind, "links": [], "widget": {"name": "x"}}
    return {"type": "PrimitiveNode", "mode": 0, "outputs": [value]}


TILED = inner(
    "VAEDecodeTiled",
    socket("samples", "LATENT"),
    socket("vae", "VAE"),
    socket("tile_size", "INT", widget={"name": "tile_size"}),
    outputs=(output("IMAGE"),),
)


def test_a_primitive_feeding_an_inner_widget_is_the_groups_widget_not_a_socket() -> None:
    definition = {"nodes": [primitive("INT"), TILED], "links": [[0, 0, 1, 2, 8, "INT"]]}
    group = instance(
        socket("samples", "LATENT", 10), socket("vae", "VAE"), outputs=(output("IMAGE"),)
    )
    assert opened(workflow(group, definition, *LATENT_AND_VAE, links=FEEDING_LINKS[:1])) == {
        "5:1": ("vae",)
    }
    # A primitive nothing uses is left out; one named with a type no widget is made for
    # is not read surely.
    unused = {"nodes": [primitive("INT"), TILED], "links": []}
    assert opened(workflow(group, unused, *LATENT_AND_VAE, links=FEEDING_LINKS[:1])) == {
        "5:1": ("vae",)
    }
    odd = {"nodes": [primitive("VAE"), TILED], "links": [[0, 0, 1, 2, 8, "VAE"]]}
    assert opened(workflow(group, odd, *LATENT_AND_VAE, links=FEEDING_LINKS[:1])) == {}


def test_a_reroute_used_inside_hands_on_what_enters_it() -> None:
    # An inner loader feeds the decoder's vae through a reroute: fed, unless it is muted.
    loader = inner("VAELoader", outputs=(output("VAE", 1),))
    links = [[0, 0, 1, 0, 8, "VAE"], [1, 0, 2, 1, 9, "VAE"], [2, 0, 3, 0, 10, "IMAGE"]]
    save = inner("SaveImage", socket("images", "IMAGE"))
    decoder = decode_and_save()["nodes"][0]
    group = instance(socket("samples", "LATENT", 10))
    for mode, expected in ((0, {}), (MUTED, {"5:2": ("vae",)})):
        definition = {"nodes": [{**loader, "mode": mode}, reroute("VAE", 2), decoder, save]}
        parsed = workflow(
            group, {**definition, "links": links}, *LATENT_AND_VAE, links=FEEDING_LINKS[:1]
        )
        assert opened(parsed) == expected, mode


def test_a_reroute_fed_from_outside_is_a_group_input_named_by_its_type() -> None:
    # The reroute came first, and its link from outside made it the group's "VAE" input;
    # the decoder's vae, fed by it inside, is no input of the group.
    definition = {
        "nodes": [reroute("VAE", 2), *decode_and_save()["nodes"]],
        "links": [[None, 0, 0, 0, 4, "VAE"], [0, 0, 1, 1, 8, "VAE"], [1, 0, 2, 0, 9, "IMAGE"]],
    }
    links = ([10, 1, 0, INSTANCE, 1, "LATENT"], [11, 2, 0, INSTANCE, 0, "VAE"])
    for vae, expected in ((11, {}), (None, {"5:1": ("vae",)})):
        group = instance(socket("VAE", "VAE", vae), socket("samples", "LATENT", 10))
        parsed = workflow(group, definition, *LATENT_AND_VAE, links=links)
        assert opened(parsed) == expected, vae
    # Linked outside too when the group was made, its output is the group's, of its type.
    definition["external"] = [[0, 0, "VAE"]]
    assert opened(workflow(group, definition, *LATENT_AND_VAE, links=links)) == {}
    group["outputs"] = [output("VAE")]
    parsed = workflow(group, definition, *LATENT_AND_VAE, links=links)
    assert opened(parsed) == {"5:1": ("vae",)}


def test_a_reroute_whose_type_is_not_read_surely_leaves_the_group_unjudged() -> None:
    # Feeding a widget, it makes a widget of the group; alone, an input typed "*".
    into_widget = {"nodes": [reroute("INT", 2), TILED], "links": [[0, 0, 1, 2, 8, "INT"]]}
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"), outputs=(output("IMAGE"),))
    assert opened(workflow(group, into_widget)) == {}
    pack_widget = socket("size", "PACK_SIZE", widget={"name": "size"})
    tiled = {**TILED, "inputs": [*TILED["inputs"][:2], pack_widget]}
    into_pack_widget = {"nodes": [reroute("PACK_SIZE", 2), tiled], "links": [[0, 0, 1, 2, 8, "X"]]}
    # Even where the instance shows a socket of that name and type in its place.
    shown = instance(
        socket("PACK_SIZE", "PACK_SIZE"),
        socket("samples", "LATENT"),
        socket("vae", "VAE"),
        outputs=(output("IMAGE"),),
    )
    assert opened(workflow(shown, into_pack_widget)) == {}
    alone = decode_and_save()
    alone["nodes"].append(reroute())
    assert (
        opened(workflow(instance(socket("samples", "LATENT"), socket("vae", "VAE")), alone)) == {}
    )


def test_a_note_in_the_definition_changes_nothing() -> None:
    definition = decode_and_save()
    definition["nodes"].insert(0, inner("Note"))
    definition["links"] = [[1, 0, 2, 0, 8, "IMAGE"]]
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE", 11))
    parsed = workflow(group, definition, *LATENT_AND_VAE, links=FEEDING_LINKS[1:])
    assert opened(parsed) == {"5:1": ("samples",)}


def test_a_group_inside_a_group_is_not_judged() -> None:
    # The inner group's instance sits in a definition, whose level is not judged.
    outer = {"nodes": [inner("workflow>Decode")], "links": []}
    document = {
        "nodes": [{"id": 7, "type": "workflow>Outer", "mode": 0}],
        "links": [],
        "extra": {"groupNodes": {"Outer": outer, "Decode": decode_and_save()}},
    }
    assert opened(parse_ui_workflow(document)) == {}


def test_an_inner_node_lacking_a_socket_its_install_lists_leaves_the_group_unjudged() -> None:
    table = loader_table(listed_sockets={"SaveImage": frozenset({"images", "masks"})})
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"))
    assert opened(workflow(group, decode_and_save(), table=table)) == {}
    listed = loader_table(listed_sockets={"SaveImage": frozenset({"images"})})
    assert opened(workflow(group, decode_and_save(), table=listed)) == {"5:0": ("samples", "vae")}


GOOD_LINK = [0, 0, 1, 0, 8, "IMAGE"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"links": [GOOD_LINK, [0, 0, 9, 0]]}, id="a link to no node"),
        pytest.param({"links": [GOOD_LINK, ["0", 0, 1, 0]]}, id="a link of text"),
        pytest.param({"links": [GOOD_LINK, [0, 0]]}, id="a short link"),
        pytest.param({"external": [["x"]]}, id="a malformed external"),
        pytest.param({"config": {"0": []}}, id="a malformed config"),
        pytest.param({"config": {"0": {"output": {"0": {"visible": "no"}}}}}, id="visible text"),
        pytest.param({"nodes": [*decode_and_save()["nodes"], 3]}, id="a node that is a number"),
    ],
)
def test_a_malformed_definition_is_not_judged(change: dict[str, Any]) -> None:
    group = instance(socket("samples", "LATENT"), socket("vae", "VAE"))
    assert opened(workflow(group, decode_and_save())) == {"5:0": ("samples", "vae")}
    assert opened(workflow(group, decode_and_save(**change))) == {}


def test_a_link_from_outside_when_the_group_was_made_leaves_the_socket_to_the_group() -> None:
    definition = decode_and_save(links=[[0, 0, 1, 0, 8, "IMAGE"], [None, 0, 0, 1, 4, "VAE"]])
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE"))
    parsed = workflow(group, definition, *LATENT_AND_VAE, links=FEEDING_LINKS[:1])
    assert opened(parsed) == {"5:0": ("vae",)}


HOSTILE = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from(["", "VAE", "vae", "x vae"]),
    lambda inner_values: (
        st.lists(inner_values, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "type", "link", "widget", "visible"]), inner_values
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_change_to_a_group_is_read_or_left_unjudged_and_opens_only_inner_sockets(
    data: st.DataObject,
) -> None:
    group = instance(socket("samples", "LATENT", 10), socket("vae", "VAE"))
    document: Any = {
        "nodes": [group, *LATENT_AND_VAE],
        "links": [list(FEEDING_LINKS[0])],
        "extra": {"groupNodes": {"Decode": decode_and_save()}},
    }
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(document_paths(document)[1:]))
        document = set_at(document, path, data.draw(HOSTILE))
    try:
        parsed = parse_ui_workflow(document)
    except WorkflowError:
        return
    for use in parsed.nodes:
        if use.open_inputs and use.node_id.startswith("5:"):
            assert set(use.open_inputs) <= {"samples", "vae", "images"}
            assert not (use.bypassed or use.muted)
