"""A legacy group node's definition as the frontend's group builder reads it."""

from __future__ import annotations

from typing import Any

from watchman.comfy.group_definition import InnerPart, inner_part, read_links


def node(node_type: str, inputs: tuple = (), outputs: tuple = ()) -> dict[str, Any]:
    return {"type": node_type, "inputs": list(inputs), "outputs": list(outputs)}


def port(name: str, kind: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **more}


REROUTE = node("Reroute", (port("", "*"),), (port("", "*"),))
NONE_LISTED = dict[str, frozenset[str]]().get


def part(definition: dict[str, Any], position: int) -> InnerPart | None:
    links = read_links(definition)
    assert links is not None
    return inner_part(position, definition["nodes"], links, NONE_LISTED)


def test_links_are_read_by_position_and_those_from_outside_only_name_a_type() -> None:
    definition = {
        "nodes": [node("VAELoader"), node("VAEDecode")],
        "links": [[0, 0, 1, 1, 7, "VAE"], [None, 0, 1, 0, 3, "LATENT"]],
        "external": [[0, 0, "VAE"]],
    }
    links = read_links(definition)
    assert links is not None
    assert links.into == {(1, 1): (0, 0)}
    assert links.out == {(0, 0): [(1, 1)]}
    assert links.first_into == {1: "VAE"}
    assert not links.only_inside((0, 0))  # linked outside too


def test_a_malformed_link_or_a_reroutes_link_at_another_slot_is_not_read() -> None:
    nodes = [REROUTE, node("VAEDecode")]
    for links in ([[0, 0, 5, 0]], [[0, 1, 1, 0]], [[0, 0, 1]], [[True, 0, 1, 0]], "x"):
        assert read_links({"nodes": nodes, "links": links}) is None, links


def test_a_reroute_takes_its_first_targets_input_type() -> None:
    decoder = node("VAEDecode", (port("samples", "LATENT"), port("vae", "VAE")))
    definition = {"nodes": [REROUTE, decoder], "links": [[0, 0, 1, 1, 7, "*"]]}
    assert part(definition, 0) == InnerPart((("VAE", "VAE", "VAE"),), ("VAE",))


def test_a_reroute_fed_inside_and_going_nowhere_takes_its_sources_output_type() -> None:
    loader = node("VAELoader", outputs=(port("VAE", "VAE"),))
    definition = {"nodes": [loader, REROUTE], "links": [[0, 0, 1, 0, 7, "VAE"]]}
    assert part(definition, 1) == InnerPart((("VAE", "VAE", "VAE"),), ("VAE",))


def test_a_reroute_linked_only_from_outside_takes_its_links_type_then_its_outputs() -> None:
    piped = {"nodes": [REROUTE], "links": [[None, 0, 0, 0, 7, "CLIP"]]}
    assert part(piped, 0) == InnerPart((("CLIP", "CLIP", "CLIP"),), ("CLIP",))
    outside = {"nodes": [REROUTE], "links": [], "external": [[0, 0, "MODEL"]]}
    assert part(outside, 0) == InnerPart((("MODEL", "MODEL", "MODEL"),), ("MODEL",))


def test_a_reroute_linked_inside_both_ways_and_not_outside_is_skipped() -> None:
    loader = node("VAELoader", outputs=(port("VAE", "VAE"),))
    decoder = node("VAEDecode", (port("samples", "LATENT"), port("vae", "VAE")))
    definition = {
        "nodes": [loader, REROUTE, decoder],
        "links": [[0, 0, 1, 0, 7, "VAE"], [1, 0, 2, 1, 8, "VAE"]],
    }
    found = part(definition, 1)
    assert found is not None and not found.built
    definition["external"] = [[1, 0, "VAE"]]
    assert part(definition, 1) == InnerPart((("VAE", "VAE", "VAE"),), ("VAE",))


def test_a_primitive_is_skipped_unless_used_and_then_gives_no_socket() -> None:
    primitive = node("PrimitiveNode", outputs=(port("value", "INT", widget={"name": "x"}),))
    sampler = node("KSampler", (port("seed", "INT", widget={"name": "seed"}),))
    unused = {"nodes": [primitive, sampler], "links": []}
    assert part(unused, 0) == InnerPart((), (), built=False)
    used = {"nodes": [primitive, sampler], "links": [[0, 0, 1, 0, 7, "INT"]]}
    assert part(used, 0) == InnerPart((), ("INT",))


def test_sockets_keep_their_label_and_must_come_before_widget_inputs() -> None:
    labelled = node("VAEDecode", (port("samples", "LATENT", label="latent"),))
    assert part({"nodes": [labelled], "links": []}, 0) == InnerPart(
        (("samples", "LATENT", "latent"),), ()
    )
    widget = port("seed", "INT", widget={"name": "seed"})
    late = node("KSampler", (widget, port("model", "MODEL")))
    assert part({"nodes": [late], "links": []}, 0) is None


def test_an_external_entry_naming_a_node_matches_no_output_as_in_the_frontend() -> None:
    # One real definition (IPAdapter plus's CosXL edit example) names a whole node where
    # the position belongs; the builder's table then has a key no position matches.
    loader = node("VAELoader", outputs=(port("VAE", "VAE"),))
    definition = {
        "nodes": [loader, node("VAEDecode", (port("vae", "VAE"),))],
        "links": [[0, 0, 1, 0, 7, "VAE"]],
        "external": [[{"type": "VAELoader"}, 0, "VAE"], [0, None, "VAE"]],
    }
    links = read_links(definition)
    assert links is not None and links.only_inside((0, 0))
    assert read_links({**definition, "external": [["0", 0, "VAE"]]}) is None
