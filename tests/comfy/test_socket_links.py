"""Which socket inputs of a node nothing feeds, and which node types its outputs reach."""

from __future__ import annotations

from typing import Any

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.socket_links import MAX_PASSED_THROUGH, LevelLinks, reached_types
from watchman.comfy.workflow_api import parse_api_prompt
from watchman.comfy.workflow_model import NodeUse, ParsedWorkflow
from watchman.comfy.workflow_ui import parse_ui_workflow

MUTED, BYPASSED = 2, 4


def node(node_id: int, node_type: str, *inputs: dict[str, Any], mode: int = 0) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "mode": mode, "inputs": list(inputs)}


def socket(name: str, kind: str, link: int | None) -> dict[str, Any]:
    return {"name": name, "type": kind, "link": link}


def link(link_id: int, origin: int, target: int, kind: str, slot: int = 0) -> list[Any]:
    return [link_id, origin, slot, target, 0, kind]


def ui(nodes: list[dict[str, Any]], links: list[list[Any]], **more: Any) -> ParsedWorkflow:
    return parse_ui_workflow({"nodes": nodes, "links": links, **more})


def by_id(parsed: ParsedWorkflow, node_id: str) -> NodeUse:
    return next(use for use in parsed.nodes if use.node_id == node_id)


def sampler_feeding_save(
    *inputs: dict[str, Any], extra: tuple[dict[str, Any], ...] = ()
) -> list[dict[str, Any]]:
    return [
        node(1, "KSampler", *inputs),
        node(2, "VAEDecode", socket("samples", "LATENT", 10)),
        node(3, "SaveImage", socket("images", "IMAGE", 11)),
        *extra,
    ]


SAMPLER_LINKS = [link(10, 1, 2, "LATENT"), link(11, 2, 3, "IMAGE")]


def test_an_input_without_a_link_is_open_and_the_node_knows_what_it_reaches() -> None:
    parsed = ui(sampler_feeding_save(socket("model", "MODEL", None)), SAMPLER_LINKS)
    sampler = by_id(parsed, "1")
    assert sampler.open_inputs == ("model",)
    assert sampler.reaches == ("KSampler", "SaveImage", "VAEDecode")
    assert sampler.given is None


def test_a_node_whose_inputs_are_all_fed_keeps_no_open_input() -> None:
    nodes = [
        node(4, "CheckpointLoaderSimple"),
        *sampler_feeding_save(socket("model", "MODEL", 12)),
    ]
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 4, 1, "MODEL")])
    assert by_id(parsed, "1").open_inputs == ()


def test_a_widget_input_without_a_link_is_not_open_its_value_is_sent() -> None:
    seed = {"name": "seed", "type": "INT", "widget": {"name": "seed"}, "link": None}
    parsed = ui(sampler_feeding_save(seed), SAMPLER_LINKS)
    assert by_id(parsed, "1").open_inputs == ()


def test_a_muted_source_feeds_nothing_but_a_running_one_does() -> None:
    nodes = sampler_feeding_save(
        socket("model", "MODEL", 12),
        socket("latent_image", "LATENT", 13),
        extra=(node(4, "CheckpointLoaderSimple", mode=MUTED), node(5, "EmptyLatentImage")),
    )
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 4, 1, "MODEL"), link(13, 5, 1, "LATENT")])
    assert by_id(parsed, "1").open_inputs == ("model",)


def test_a_bypassed_source_hands_on_its_input_of_the_same_type() -> None:
    nodes = sampler_feeding_save(
        socket("model", "MODEL", 12),
        extra=(
            node(4, "CheckpointLoaderSimple"),
            node(
                5,
                "LoraLoaderModelOnly",
                socket("model", "MODEL", 14),
                mode=BYPASSED,
            ),
        ),
    )
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 5, 1, "MODEL"), link(14, 4, 5, "MODEL")])
    assert by_id(parsed, "1").open_inputs == ()


def test_a_bypassed_source_without_a_linked_input_of_that_type_feeds_nothing() -> None:
    unlinked = node(5, "LoraLoaderModelOnly", socket("model", "MODEL", None), mode=BYPASSED)
    other_type = node(6, "ImageScale", socket("image", "IMAGE", None), mode=BYPASSED)
    nodes = sampler_feeding_save(
        socket("model", "MODEL", 12),
        socket("latent_image", "LATENT", 13),
        extra=(unlinked, other_type),
    )
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 5, 1, "MODEL"), link(13, 6, 1, "LATENT")])
    assert by_id(parsed, "1").open_inputs == ("model", "latent_image")


def test_a_chain_of_bypassed_nodes_is_followed_only_so_far() -> None:
    count = MAX_PASSED_THROUGH + 5
    chain = [
        node(100 + at, "LoraLoaderModelOnly", socket("model", "MODEL", 500 + at + 1), mode=BYPASSED)
        for at in range(count)
    ]
    chain[-1]["inputs"] = [socket("model", "MODEL", None)]  # the chain starts nowhere
    links = [link(500 + at + 1, 100 + at + 1, 100 + at, "MODEL") for at in range(count - 1)]
    nodes = sampler_feeding_save(socket("model", "MODEL", 12), extra=tuple(chain))
    parsed = ui(nodes, [*SAMPLER_LINKS, *links, link(12, 100, 1, "MODEL")])
    # Past the bound nothing is claimed: the input counts as fed.
    assert by_id(parsed, "1").open_inputs == ()


def test_reroutes_that_start_nowhere_feed_nothing() -> None:
    nodes = sampler_feeding_save(
        socket("model", "MODEL", 12),
        extra=(node(7, "Reroute", socket("", "*", None)),),
    )
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 7, 1, "MODEL")])
    assert by_id(parsed, "1").open_inputs == ("model",)


def test_a_link_the_file_does_not_show_counts_as_fed() -> None:
    # Link 99 is in no links table, and link 12 comes from a node the file lacks: no
    # evidence, so no claim.
    nodes = sampler_feeding_save(socket("model", "MODEL", 99), socket("clip", "CLIP", 12))
    parsed = ui(nodes, [*SAMPLER_LINKS, link(12, 42, 1, "CLIP")])
    assert by_id(parsed, "1").open_inputs == ()


def test_what_a_node_reaches_passes_bypassed_nodes_and_reroutes_not_muted_ones() -> None:
    nodes = [
        node(1, "KSampler", socket("model", "MODEL", None)),
        node(2, "Reroute", socket("", "*", 10)),
        node(3, "LatentUpscale", socket("samples", "LATENT", 11), mode=BYPASSED),
        node(4, "VAEDecode", socket("samples", "LATENT", 12)),
        node(5, "SaveImage", socket("images", "IMAGE", 13), mode=MUTED),
        node(6, "PreviewImage", socket("images", "IMAGE", 14)),
    ]
    links = [
        link(10, 1, 2, "LATENT"),
        link(11, 2, 3, "LATENT"),
        link(12, 3, 4, "LATENT"),
        link(13, 4, 5, "IMAGE"),
        link(14, 4, 6, "IMAGE"),
    ]
    assert by_id(ui(nodes, links), "1").reaches == ("KSampler", "PreviewImage", "VAEDecode")


def test_a_node_in_a_bypassed_or_muted_state_keeps_nothing() -> None:
    nodes = [
        node(1, "KSampler", socket("model", "MODEL", None), mode=BYPASSED),
        node(2, "KSampler", socket("model", "MODEL", None), mode=MUTED),
    ]
    parsed = ui(nodes, [])
    assert [use.open_inputs for use in parsed.nodes] == [(), ()]


def test_a_workflow_with_a_node_that_feeds_open_inputs_itself_judges_none() -> None:
    nodes = sampler_feeding_save(
        socket("model", "MODEL", None), extra=(node(8, "Anything Everywhere", mode=0),)
    )
    parsed = ui(nodes, SAMPLER_LINKS)
    assert all(use.open_inputs == () and use.reaches == () for use in parsed.nodes)


def test_a_subgraph_input_counts_as_fed_unless_its_instance_says_otherwise() -> None:
    subgraph_id = "11111111-2222-4333-8444-555555555555"
    definition = {
        "id": subgraph_id,
        "nodes": [
            node(
                1,
                "KSampler",
                socket("model", "MODEL", 20),
                socket("positive", "CONDITIONING", None),
            ),
            node(2, "PreviewImage", socket("images", "LATENT", 21)),
        ],
        "links": [
            {"id": 20, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0},
            {"id": 21, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0},
        ],
    }
    parsed = ui([node(9, subgraph_id)], [], definitions={"subgraphs": [definition]})
    inner = by_id(parsed, "9:1")
    assert inner.open_inputs == ("positive",)
    assert inner.reaches == ("KSampler", "PreviewImage")


def test_an_api_prompt_keeps_every_input_name_and_what_each_node_reaches() -> None:
    prompt = {
        "1": {"class_type": "KSampler", "inputs": {"model": ["2", 0], "seed": 5}},
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
    }
    parsed = parse_api_prompt(prompt)
    assert by_id(parsed, "1").given == ("model", "seed")
    assert by_id(parsed, "2").reaches == ("CheckpointLoaderSimple", "KSampler", "SaveImage")
    assert by_id(parsed, "3").reaches == ("SaveImage",)


def test_reaching_terminates_on_a_cycle_and_on_a_long_chain() -> None:
    targets: dict[object, list[object]] = {1: [2], 2: [3], 3: [1]}
    found = reached_types(1, targets, lambda key: f"T{key}", lambda key: True, {})
    assert "T1" in found
    chain: dict[object, list[object]] = {at: [at + 1] for at in range(100_000)}
    memo: dict[object, tuple[str, ...]] = {}
    reached = reached_types(0, chain, lambda key: "Same", lambda key: True, memo)
    assert reached == ("Same",)


def test_the_link_facts_survive_the_parse_cache_and_its_json() -> None:
    from watchman.stages.workflow_cache import pack_parse, unpack_parse

    parsed = ui(sampler_feeding_save(socket("model", "MODEL", None)), SAMPLER_LINKS)
    api = parse_api_prompt({"1": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]}}})
    for workflow in (parsed, api):
        assert ParsedWorkflow.from_json(workflow.to_json()) == workflow
        assert unpack_parse(pack_parse(workflow), {}) == workflow


def test_an_api_input_linked_from_a_node_the_prompt_lacks_is_not_given() -> None:
    prompt = {
        "1": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["2", 0]}},
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": "a.safetensors"}},
    }
    assert by_id(parse_api_prompt(prompt), "1").given == ("vae",)


def nested_sampler(outer_nodes: list[dict[str, Any]], outer_links: list[list[Any]]) -> NodeUse:
    """The inner sampler of a subgraph whose output leaves through the subgraph's output,
    its instance (id 9) placed among ``outer_nodes``."""
    subgraph_id = "22222222-3333-4444-8555-666666666666"
    definition = {
        "id": subgraph_id,
        "nodes": [
            node(1, "KSampler", socket("model", "MODEL", None)),
            node(2, "VAEDecode", socket("samples", "LATENT", 30)),
        ],
        "links": [
            {"id": 30, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0},
            {"id": 31, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 0},
        ],
    }
    nodes = [node(9, subgraph_id), *outer_nodes]
    parsed = ui(nodes, outer_links, definitions={"subgraphs": [definition]})
    return by_id(parsed, "9:1")


def test_inside_a_subgraph_what_leaves_through_its_outputs_reaches_what_its_instance_does() -> None:
    saved = nested_sampler(
        [node(5, "SaveImage", socket("images", "IMAGE", 40))], [link(40, 9, 5, "IMAGE")]
    )
    assert saved.open_inputs == ("model",)
    assert saved.reaches == ("KSampler", "SaveImage", "VAEDecode")
    unused = nested_sampler([node(5, "SaveImage", socket("images", "IMAGE", None))], [])
    assert unused.reaches == ("KSampler", "VAEDecode")
    muted = nested_sampler(
        [node(5, "SaveImage", socket("images", "IMAGE", 40), mode=MUTED)], [link(40, 9, 5, "IMAGE")]
    )
    assert muted.reaches == ("KSampler", "VAEDecode")


def test_two_instances_of_one_subgraph_each_reach_their_own_surroundings() -> None:
    subgraph_id = "33333333-4444-4555-8666-777777777777"
    definition = {
        "id": subgraph_id,
        "nodes": [node(1, "VAEDecode", socket("samples", "LATENT", None))],
        "links": [{"id": 31, "origin_id": 1, "origin_slot": 0, "target_id": -20, "target_slot": 0}],
    }
    nodes = [
        node(8, subgraph_id),
        node(9, subgraph_id),
        node(5, "PreviewImage", socket("images", "IMAGE", 40)),
    ]
    parsed = ui(nodes, [link(40, 9, 5, "IMAGE")], definitions={"subgraphs": [definition]})
    assert by_id(parsed, "8:1").reaches == ("VAEDecode",)
    assert by_id(parsed, "9:1").reaches == ("PreviewImage", "VAEDecode")


def fed_through_the_subgraph(
    instance_input: dict[str, Any], outer: list[dict[str, Any]]
) -> NodeUse:
    """The inner sampler of a subgraph whose ``model`` comes from the subgraph's input
    ``model``, its instance (id 9) given ``instance_input`` among ``outer`` nodes."""
    subgraph_id = "44444444-5555-4666-8777-888888888888"
    definition = {
        "id": subgraph_id,
        "inputs": [{"name": "model", "type": "MODEL", "linkIds": [50]}],
        "nodes": [node(1, "KSampler", socket("model", "MODEL", 50))],
        "links": [{"id": 50, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0}],
    }
    nodes = [node(9, subgraph_id, instance_input), *outer]
    links = [link(60, 4, 9, "MODEL")]
    parsed = ui(nodes, links, definitions={"subgraphs": [definition]})
    return by_id(parsed, "9:1")


def test_an_input_from_the_subgraphs_inputs_is_open_when_its_instance_leaves_it_open() -> None:
    loader = node(4, "CheckpointLoaderSimple")
    assert fed_through_the_subgraph(socket("model", "MODEL", 60), [loader]).open_inputs == ()
    left_open = fed_through_the_subgraph(socket("model", "MODEL", None), [loader])
    assert left_open.open_inputs == ("model",)
    muted = node(4, "CheckpointLoaderSimple", mode=MUTED)
    assert fed_through_the_subgraph(socket("model", "MODEL", 60), [muted]).open_inputs == ("model",)


def test_a_required_input_of_a_listed_type_a_saved_node_lacks_is_open() -> None:
    # Saved before the sampler's definition had a "model" input (the install's source
    # now writes it); a node saving its "cfg" widget as an input lists that one.
    table = loader_table(listed_sockets={"KSampler": frozenset({"model", "positive"})})
    nodes = sampler_feeding_save(
        socket("positive", "CONDITIONING", 12),
        {"name": "cfg", "type": "FLOAT", "widget": {"name": "cfg"}, "link": None},
        extra=(node(4, "CLIPTextEncode"),),
    )
    links = [*SAMPLER_LINKS, link(12, 4, 1, "CONDITIONING")]
    parsed = parse_ui_workflow({"nodes": nodes, "links": links}, table=table)
    assert by_id(parsed, "1").open_inputs == ("model",)
    assert "SaveImage" in by_id(parsed, "1").reaches


def test_a_node_saving_no_inputs_list_or_of_a_type_without_listed_inputs_is_not_judged() -> None:
    table = loader_table(listed_sockets={"KSampler": frozenset({"model"})})
    bare = {"id": 1, "type": "KSampler", "mode": 0}
    nodes = [bare, *sampler_feeding_save()[1:]]
    parsed = parse_ui_workflow({"nodes": nodes, "links": SAMPLER_LINKS}, table=table)
    assert by_id(parsed, "1").open_inputs == ()
    assert by_id(parsed, "2").open_inputs == ()  # VAEDecode: nothing listed for it


def test_a_listed_input_the_node_lists_is_judged_by_its_link() -> None:
    table = loader_table(listed_sockets={"KSampler": frozenset({"model"})})
    nodes = sampler_feeding_save(socket("model", "MODEL", 12), extra=(node(4, "Loader"),))
    links = [*SAMPLER_LINKS, link(12, 4, 1, "MODEL")]
    parsed = parse_ui_workflow({"nodes": nodes, "links": links}, table=table)
    assert by_id(parsed, "1").open_inputs == ()


class CountedEnds(dict[object, Any]):
    """A level's link ends that count how often one is looked up."""

    looked_up = 0

    def get(self, key: object, default: Any = None) -> Any:
        self.looked_up += 1
        return super().get(key, default)


def test_each_reroute_of_a_chain_is_resolved_once_however_many_links_leave_it() -> None:
    # Reroute n takes link n from reroute n - 1; link 1 leaves node 0 (a loader) at slot 2.
    length = 200
    ends = CountedEnds({n: ((n - 1), (2 if n == 1 else 0), n, 0) for n in range(1, length + 1)})
    types = {0: "LoadImage", **{n: "Reroute" for n in range(1, length + 1)}}
    graph = LevelLinks(types, {}, None, reroutes={n: n for n in range(1, length + 1)}, _ends=ends)
    # From the chain's end, then from every reroute in turn: one walk, then the memo.
    answers = [graph.through_reroutes(n, 0) for n in (length, *range(1, length + 1))]
    assert answers == [(0, 2)] * (length + 1)
    assert ends.looked_up == length  # a walk per call would be length * length / 2
