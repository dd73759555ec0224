"""Needs: what a workflow is missing, and the status precedence."""

from __future__ import annotations

from dataclasses import replace

from watchman.comfy.model_references import references_for_node
from watchman.comfy.node_sockets import SocketRules
from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import assess_workflow, count_statuses
from watchman.stages.needs_model import MAX_LOCATIONS
from watchman.stages.socket_needs import InactiveOutput, NoOutput, UnlinkedInput, output_flags

ROOT = "/comfy/models"
INVENTORY = ModelInventory(
    roots={"checkpoints": (f"{ROOT}/checkpoints",), "vae": (f"{ROOT}/vae",)},
    files={
        "checkpoints": (
            ModelFile("checkpoints", "SDXL/base.safetensors", f"{ROOT}/checkpoints", 1, 0.0),
            ModelFile("checkpoints", "stray_vae.safetensors", f"{ROOT}/checkpoints", 1, 0.0),
        ),
        "vae": (),
    },
    separator="/",  # ComfyUI on Linux, whatever runs the tests
)
CORE = {"CheckpointLoaderSimple", "VAELoader", "KSampler", "LoraLoader"}


def node(node_id: str, node_type: str, mode: int = 0, cnr_id: str | None = None) -> NodeUse:
    return NodeUse(node_id, node_type, mode == 4, mode == 2, cnr_id, None, None)


def ref(
    node_id: str, node_type: str, value: str, folder: str | None, mode: int = 0
) -> ModelReference:
    return ModelReference(node_id, node_type, None, value, folder, mode == 4, mode == 2, None)


def workflow(
    nodes: list[NodeUse], refs: list[ModelReference], subgraphs: frozenset[str] = frozenset()
) -> ParsedWorkflow:
    return ParsedWorkflow("ui", tuple(nodes), tuple(refs), (), subgraphs, ())


def test_a_workflow_whose_files_and_nodes_are_installed_is_ready() -> None:
    needs = assess_workflow(
        workflow(
            [node("1", "CheckpointLoaderSimple"), node("2", "Note")],
            [ref("1", "CheckpointLoaderSimple", "SDXL/base.safetensors", "checkpoints")],
        ),
        INVENTORY,
        CORE,
    )
    assert needs.status == "ready"
    assert needs.missing_models == () and needs.missing_nodes == ()


def test_a_file_in_another_folder_is_misplaced_with_where_it_is() -> None:
    needs = assess_workflow(
        workflow([node("1", "VAELoader")], [ref("1", "VAELoader", "stray_vae.safetensors", "vae")]),
        INVENTORY,
        CORE,
    )
    assert needs.status == "missing_models"
    [need] = needs.missing_models
    assert need.state == "misplaced"
    assert need.locations[0].folder == "checkpoints"


def test_a_name_installed_in_thousands_of_places_lists_a_few_and_counts_the_rest() -> None:
    # 3,000 places x 750 nodes made a 357 MB report: each need keeps MAX_LOCATIONS.
    places = tuple(
        ModelFile("checkpoints", f"s{index}/stray.safetensors", f"{ROOT}/checkpoints", 1, 0.0)
        for index in range(3_000)
    )
    inventory = ModelInventory(
        roots=INVENTORY.roots, files={"checkpoints": places, "vae": ()}, separator="/"
    )
    needs = assess_workflow(
        workflow([node("1", "VAELoader")], [ref("1", "VAELoader", "stray.safetensors", "vae")]),
        inventory,
        CORE,
    )
    [need] = needs.missing_models
    assert need.state == "misplaced"
    assert need.locations == places[:MAX_LOCATIONS]
    assert need.more_locations == 3_000 - MAX_LOCATIONS


def test_a_missing_node_outranks_a_missing_model() -> None:
    needs = assess_workflow(
        workflow(
            [node("1", "LoraLoader"), node("2", "FancyPackNode", cnr_id="fancy-pack")],
            [ref("1", "LoraLoader", "nowhere.safetensors", "loras")],
        ),
        INVENTORY,
        CORE,
    )
    assert needs.status == "missing_nodes"
    assert [(n.node_type, n.cnr_id) for n in needs.missing_nodes] == [
        ("FancyPackNode", "fancy-pack")
    ]
    assert [m.state for m in needs.missing_models] == ["missing"]


def test_subgraph_ids_and_frontend_only_nodes_are_never_missing() -> None:
    subgraph = "0b2f7a8c-1111-4222-8333-944455566677"
    needs = assess_workflow(
        workflow(
            [
                node("1", subgraph),
                node("2", "Reroute"),
                node("3", "MarkdownNote"),
                node("4", "PrimitiveNode"),
            ],
            [],
            frozenset({subgraph}),
        ),
        INVENTORY,
        CORE,
    )
    assert needs.status == "ready"


def test_bypassed_and_muted_nodes_are_reported_apart_and_do_not_change_the_status() -> None:
    needs = assess_workflow(
        workflow(
            [
                node("1", "CheckpointLoaderSimple"),
                node("2", "LoraLoader", mode=4),
                node("3", "GhostNode", mode=2),
            ],
            [ref("2", "LoraLoader", "gone.safetensors", "loras", mode=4)],
        ),
        INVENTORY,
        CORE,
    )
    assert needs.status == "ready"
    assert [m.reference.value for m in needs.inactive_models] == ["gone.safetensors"]
    assert [n.node_type for n in needs.inactive_nodes] == ["GhostNode"]
    assert needs.bypassed_node_ids == ("2",) and needs.muted_node_ids == ("3",)


def test_an_unknown_node_value_that_looks_like_a_model_makes_the_workflow_uncertain() -> None:
    needs = assess_workflow(
        workflow([node("1", "KSampler")], [ref("1", "KSampler", "mystery.safetensors", None)]),
        INVENTORY,
        CORE,
    )
    assert needs.status == "uncertain"


def test_statuses_are_counted_in_precedence_order_with_zeroes() -> None:
    counts = count_statuses(["ready", "ready", "parse_error"])
    assert list(counts) == ["parse_error", "missing_nodes", "missing_models", "uncertain", "ready"]
    assert counts["ready"] == 2 and counts["missing_nodes"] == 0


def lora(value: str) -> ModelReference:
    return ModelReference("1", "LoraLoader", "lora_name", value, "loras", False, False, None)


def test_a_file_the_live_server_lists_for_that_input_is_present() -> None:
    offered = {("LoraLoader", "lora_name"): ("packs/extra_lora.safetensors",)}
    parsed = workflow([node("1", "LoraLoader")], [lora("packs/extra_lora.safetensors")])
    assert assess_workflow(parsed, INVENTORY, CORE).status == "missing_models"
    live = assess_workflow(parsed, INVENTORY, CORE, lambda t, i: offered.get((t, i)))
    assert live.status == "ready"


def test_a_file_the_live_server_lists_in_another_spelling_names_the_one_to_pick() -> None:
    offered = {("LoraLoader", "lora_name"): ("packs\\extra_lora.safetensors",)}
    parsed = workflow([node("1", "LoraLoader")], [lora("packs/Extra_Lora.safetensors")])
    live = assess_workflow(parsed, INVENTORY, CORE, lambda t, i: offered.get((t, i)))
    assert live.status == "missing_models"
    [need] = live.missing_models
    assert (need.state, need.pick) == ("misspelled", "packs\\extra_lora.safetensors")


def checkpoint(value: str) -> ParsedWorkflow:
    return workflow(
        [node("1", "CheckpointLoaderSimple")],
        [ref("1", "CheckpointLoaderSimple", value, "checkpoints")],
    )


def test_a_windows_path_on_a_linux_comfyui_is_not_ready_and_names_the_file_to_pick() -> None:
    needs = assess_workflow(checkpoint("SDXL\\base.safetensors"), INVENTORY, CORE)
    assert needs.status == "missing_models"
    [need] = needs.missing_models
    assert need.state == "misspelled"
    assert (need.reference.node_id, need.reference.value) == ("1", "SDXL\\base.safetensors")
    assert need.pick == "SDXL/base.safetensors"
    assert need.locations[0].relative_path == "SDXL/base.safetensors"


def test_another_letter_case_is_not_ready_and_names_the_file_to_pick() -> None:
    [need] = assess_workflow(checkpoint("sdxl/BASE.SAFETENSORS"), INVENTORY, CORE).missing_models
    assert (need.state, need.pick) == ("misspelled", "SDXL/base.safetensors")


def test_on_a_windows_comfyui_the_list_uses_backslashes() -> None:
    windows = replace(INVENTORY, separator="\\")
    assert assess_workflow(checkpoint("SDXL\\base.safetensors"), windows, CORE).status == "ready"
    [need] = assess_workflow(checkpoint("SDXL/base.safetensors"), windows, CORE).missing_models
    assert (need.state, need.pick) == ("misspelled", "SDXL\\base.safetensors")


def embeddings(*paths: str, separator: str = "/") -> ModelInventory:
    return replace(
        INVENTORY,
        roots={**INVENTORY.roots, "embeddings": (f"{ROOT}/embeddings",)},
        files={
            **INVENTORY.files,
            "embeddings": tuple(
                ModelFile("embeddings", path, f"{ROOT}/embeddings", 1, 0.0) for path in paths
            ),
        },
        separator=separator,
    )


def prompt_embedding(name: str) -> ParsedWorkflow:
    prompt = ModelReference("1", "CLIPTextEncode", "text", name, "embeddings", False, False, None)
    return workflow([node("1", "KSampler")], [prompt])


def test_an_embedding_in_a_prompt_is_found_as_comfyui_tokenizer_finds_it() -> None:
    # The name as written, then with .safetensors, .pt or .bin, in any subdirectory.
    inventory = embeddings("neg/EasyNegative.safetensors", "style.pt", "a/b/deep.bin", "x.pt")
    for name in (
        "EasyNegative",
        "neg/EasyNegative",
        "EasyNegative.safetensors",
        "style",
        "deep",
        "b/deep",
        "a/b/deep.bin",
        "./x",
    ):
        assert assess_workflow(prompt_embedding(name), inventory, CORE).status == "ready", name


def test_an_embedding_in_another_letter_case_is_not_ready_and_says_how_to_write_it() -> None:
    inventory = embeddings("neg/EasyNeg.safetensors")
    needs = assess_workflow(prompt_embedding("easyneg"), inventory, CORE)
    assert needs.status == "missing_models"
    (need,) = needs.missing_models
    assert (need.state, need.pick) == ("misspelled", "EasyNeg")
    (need,) = assess_workflow(
        prompt_embedding("NEG/easyneg.SAFETENSORS"), inventory, CORE
    ).missing_models
    assert need.pick == "neg/EasyNeg.safetensors"
    (need,) = assess_workflow(prompt_embedding("./a/../EASYNEG"), inventory, CORE).missing_models
    assert need.pick == "EasyNeg"


def test_on_windows_an_embedding_in_another_letter_case_is_found() -> None:
    inventory = embeddings("neg/EasyNeg.safetensors", separator="\\")
    assert assess_workflow(prompt_embedding("NEG\\easyneg"), inventory, CORE).status == "ready"


def test_an_embedding_under_another_subfolder_than_named_is_misplaced() -> None:
    inventory = embeddings("pos/x.pt")
    (need,) = assess_workflow(prompt_embedding("neg/x"), inventory, CORE).missing_models
    assert need.state == "misplaced"
    assert [f.relative_path for f in need.locations] == ["pos/x.pt"]


def test_an_embedding_name_that_climbs_out_or_names_a_folder_is_missing() -> None:
    inventory = embeddings("x.pt")
    inventory = replace(inventory, directories={"embeddings": frozenset({"folder"})})
    for name in ("../embeddings/x", "/comfy/models/embeddings/x.pt", "folder"):
        (need,) = assess_workflow(prompt_embedding(name), inventory, CORE).missing_models
        assert need.state in ("missing", "misplaced"), name
        assert need.state != "misplaced" or name.startswith(("../", "/"))


def test_a_broken_embedding_the_tokenizer_may_load_makes_the_workflow_not_ready() -> None:
    inventory = embeddings("a/x.pt", "b/x.safetensors")
    problems = {"b/x.safetensors": "truncated"}
    needs = assess_workflow(
        prompt_embedding("x"), inventory, CORE, broken=lambda f: problems.get(f.relative_path)
    )
    (need,) = needs.missing_models
    assert (need.state, need.problem, need.locations[0].relative_path) == (
        "broken",
        "truncated",
        "b/x.safetensors",
    )


def test_an_instance_of_an_undefined_subgraph_is_a_missing_node() -> None:
    from watchman.comfy.workflow import parse_workflow_json

    undefined = "9f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b"
    document = {
        "nodes": [
            {"id": 1, "type": "KSampler", "mode": 0, "widgets_values": []},
            {"id": 2, "type": undefined, "mode": 0, "widgets_values": []},
            {"id": 3, "type": "workflow>Vanished Group", "mode": 0, "widgets_values": []},
        ],
        "links": [],
    }
    parsed = parse_workflow_json(document, "undefined.json")
    assert undefined not in parsed.node_types
    needs = assess_workflow(parsed, INVENTORY, CORE)
    assert needs.status == "missing_nodes"
    assert {need.node_type for need in needs.missing_nodes} == {
        undefined,
        "workflow>Vanished Group",
    }
    assert parsed == type(parsed).from_json(parsed.to_json())


LORAS = replace(
    INVENTORY,
    roots={**INVENTORY.roots, "loras": (f"{ROOT}/loras",)},
    files={
        **INVENTORY.files,
        "loras": (ModelFile("loras", "styles/detail.safetensors", f"{ROOT}/loras", 1, 0.0),),
    },
)


def lora_workflow(node_type: str, value: object) -> ParsedWorkflow:
    refs = references_for_node("1", node_type, [("text", value)], False, False)
    return workflow([node("1", "KSampler")], list(refs))


def test_a_lora_tag_found_by_name_in_a_subfolder_is_ready_as_lora_manager_finds_it() -> None:
    parsed = lora_workflow("Lora Loader (LoraManager)", "a cat <lora:detail:0.8>")
    assert [r.lookup for r in parsed.model_refs] == ["by_name"]
    assert assess_workflow(parsed, LORAS, CORE).status == "ready"


def test_a_power_lora_entry_by_base_name_or_without_extension_is_ready() -> None:
    for lora in ("detail.safetensors", "styles/detail", "detail"):
        entry = {"on": True, "lora": lora, "strength": 1.0}
        parsed = lora_workflow("Power Lora Loader (rgthree)", entry)
        assert assess_workflow(parsed, LORAS, CORE).status == "ready", lora


def test_a_lora_tag_in_another_letter_case_is_misspelled_since_the_nodes_match_exactly() -> None:
    parsed = lora_workflow("Lora Loader (LoraManager)", "<lora:DETAIL:1>")
    [need] = assess_workflow(parsed, LORAS, CORE).missing_models
    assert (need.state, need.pick) == ("misspelled", "styles/detail.safetensors")


def test_a_lora_tag_naming_a_file_only_in_another_folder_is_misplaced() -> None:
    parsed = lora_workflow("Lora Loader (LoraManager)", "<lora:stray_vae:1>")
    [need] = assess_workflow(parsed, LORAS, CORE).missing_models
    assert need.state == "misplaced"
    assert need.locations[0].folder == "checkpoints"


def test_a_lora_combo_value_in_a_subfolder_stays_misplaced_as_comfyui_checks_the_list() -> None:
    combo = ModelReference(
        "1", "LoraLoader", "lora_name", "detail.safetensors", "loras", False, False, None
    )
    [need] = assess_workflow(
        workflow([node("1", "LoraLoader")], [combo]), LORAS, CORE
    ).missing_models
    assert need.state == "misplaced"


def test_an_embedding_name_with_commas_at_its_ends_is_tried_again_without_them() -> None:
    # ComfyUI tries "x," first, then "x": the prompt is ready, and a missing one is "x".
    assert assess_workflow(prompt_embedding("x,"), embeddings("x.pt"), CORE).status == "ready"
    assert assess_workflow(prompt_embedding("x,"), embeddings("x,.pt"), CORE).status == "ready"
    (need,) = assess_workflow(prompt_embedding(",y,"), embeddings("x.pt"), CORE).missing_models
    assert (need.state, need.reference.value, need.key.text) == ("missing", "y", "embeddings:y")
    assert need.reference.written_as == "embedding:,y,"


def test_a_weight_outside_parentheses_is_not_ready_and_says_how_to_write_it() -> None:
    # embedding:x:1.2 makes ComfyUI look for "x:1.2": it renders without the embedding.
    needs = assess_workflow(prompt_embedding("x:1.2"), embeddings("neg/x.pt"), CORE)
    assert needs.status == "missing_models"
    (need,) = needs.missing_models
    assert (need.state, need.reference.value, need.pick, need.rewrite) == (
        "misspelled",
        "x:1.2",
        "x",
        "(embedding:x:1.2)",
    )
    assert [f.relative_path for f in need.locations] == ["neg/x.pt"]
    assert need.reference.written_as == "embedding:x:1.2"


def test_a_weight_outside_parentheses_on_a_name_in_another_case_names_the_file() -> None:
    (need,) = assess_workflow(
        prompt_embedding("easyneg:0.8,"), embeddings("EasyNeg.pt"), CORE
    ).missing_models
    assert (need.state, need.pick, need.rewrite) == (
        "misspelled",
        "EasyNeg",
        "(embedding:EasyNeg:0.8)",
    )


def test_a_weight_outside_parentheses_on_a_name_not_installed_needs_that_name() -> None:
    # The file to get is x (what a source can find); the rewrite is still to do.
    (need,) = assess_workflow(prompt_embedding("x:1.2"), embeddings(), CORE).missing_models
    assert (need.state, need.reference.value, need.key.text, need.rewrite) == (
        "missing",
        "x",
        "embeddings:x",
        "(embedding:x:1.2)",
    )
    assert need.reference.written_as == "embedding:x:1.2"


def test_a_file_named_with_the_colon_is_what_comfyui_loads() -> None:
    inventory = embeddings("x:1.2.pt", "x.pt")
    assert assess_workflow(prompt_embedding("x:1.2"), inventory, CORE).status == "ready"


def test_a_colon_that_is_no_weight_is_just_part_of_the_name() -> None:
    (need,) = assess_workflow(prompt_embedding("x:y"), embeddings("x.pt"), CORE).missing_models
    assert (need.state, need.rewrite) == ("missing", None)


def test_an_embedding_token_naming_nothing_is_not_ready_since_comfyui_fails_on_it() -> None:
    # "a cat, embedding:" makes ComfyUI's tokenizer raise when the prompt is encoded.
    needs = assess_workflow(prompt_embedding(""), embeddings("x.pt"), CORE)
    assert needs.status == "missing_models"
    (need,) = needs.missing_models
    assert (need.state, need.reference.value, need.locations) == ("nameless", "", ())
    assert need.problem is not None and "stops with an error" in need.problem


def test_an_embedding_token_of_commas_alone_names_nothing_to_get() -> None:
    (need,) = assess_workflow(prompt_embedding(","), embeddings("x.pt"), CORE).missing_models
    assert (need.state, need.reference.value) == ("nameless", ",")
    assert need.problem is not None and "renders without one" in need.problem
    # A file of that very name is what ComfyUI loads: then the text names it.
    assert assess_workflow(prompt_embedding(","), embeddings(",.pt"), CORE).status == "ready"


def test_a_nameless_token_is_nothing_to_download() -> None:
    from pathlib import Path

    from watchman.stages.needs import Assessment, NeedsResult

    needs = assess_workflow(prompt_embedding(""), embeddings(), CORE)
    result = NeedsResult((Assessment(Path("/w/a.json"), "a", "s", "", None, needs, None),))
    assert list(result.missing_models()) == []


def _encoded(document: dict[str, object], name: str) -> ParsedWorkflow:
    import json

    from watchman.comfy.workflow import parse_workflow_bytes

    return parse_workflow_bytes(json.dumps(document).encode(), name)


def test_ui_and_api_workflows_with_a_bare_embedding_token_are_not_ready() -> None:
    text = "a cat, (masterpiece:1.2), embedding:"
    ui = {
        "nodes": [
            {"id": 6, "type": "CLIPTextEncode", "mode": 0, "widgets_values": [text]},
            {"id": 7, "type": "KSampler", "mode": 0, "widgets_values": []},
        ],
        "links": [],
    }
    api = {
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}},
        "7": {"class_type": "KSampler", "inputs": {"positive": ["6", 0]}},
    }
    for parsed in (_encoded(ui, "ui.json"), _encoded(api, "api.json")):
        needs = assess_workflow(parsed, embeddings(), CORE | {"CLIPTextEncode"})
        assert needs.status == "missing_models", parsed.format
        (need,) = needs.missing_models
        assert (need.state, need.reference.node_id, need.reference.written_as) == (
            "nameless",
            "6",
            "embedding:",
        )


def test_a_bare_embedding_token_on_a_bypassed_node_does_not_change_the_status() -> None:
    ui = {
        "nodes": [
            {"id": 6, "type": "CLIPTextEncode", "mode": 4, "widgets_values": ["embedding:"]},
            {"id": 7, "type": "KSampler", "mode": 0, "widgets_values": []},
        ],
        "links": [],
    }
    needs = assess_workflow(_encoded(ui, "ui.json"), embeddings(), CORE | {"CLIPTextEncode"})
    assert needs.status == "ready"
    assert [need.state for need in needs.inactive_models] == ["nameless"]


def test_a_required_input_nothing_feeds_makes_the_workflow_uncertain_beside_a_server() -> None:
    decode = replace(node("3", "VAEDecode"), open_inputs=("vae",), reaches=("SaveImage",))
    parsed = workflow([decode, node("4", "SaveImage")], [])
    rules = {
        "VAEDecode": SocketRules(frozenset({"samples", "vae"}), False),
        "SaveImage": SocketRules(frozenset({"images"}), True),
    }
    installed = CORE | {"VAEDecode", "SaveImage"}
    beside = assess_workflow(parsed, INVENTORY, installed, sockets=rules.get)
    assert beside.status == "uncertain"
    assert beside.unlinked_inputs == (UnlinkedInput("3", "VAEDecode", ("vae",)),)
    # Without a server's definitions nothing is judged.
    assert assess_workflow(parsed, INVENTORY, installed).status == "ready"


def test_a_workflow_with_no_active_output_is_uncertain_beside_a_server() -> None:
    parsed = workflow([node("3", "VAEDecode"), replace(node("4", "SaveImage"), bypassed=True)], [])
    rules = {
        "VAEDecode": SocketRules(frozenset({"samples", "vae"}), False),
        "SaveImage": SocketRules(frozenset({"images"}), True),
    }
    installed = CORE | {"VAEDecode", "SaveImage"}
    outputs = output_flags(rules.get, frozenset())
    beside = assess_workflow(parsed, INVENTORY, installed, outputs=outputs)
    assert beside.status == "uncertain"
    assert beside.no_output == NoOutput((InactiveOutput("4", "SaveImage", "bypassed"),))
    # Offline, where a flag may be unwritten or inherited, nothing is said.
    assert assess_workflow(parsed, INVENTORY, installed).status == "ready"
    # With the output enabled it is ready.
    enabled = workflow([node("3", "VAEDecode"), node("4", "SaveImage")], [])
    assert assess_workflow(enabled, INVENTORY, installed, outputs=outputs).status == "ready"


def test_a_workflow_missing_nodes_is_not_said_to_lack_an_output() -> None:
    # The missing node may be its output: once installed, the workflow may have one.
    parsed = workflow([node("3", "VAEDecode"), node("9", "FancySaver")], [])
    rules = {"VAEDecode": SocketRules(frozenset({"samples", "vae"}), False)}
    needs = assess_workflow(
        parsed, INVENTORY, CORE | {"VAEDecode"}, outputs=output_flags(rules.get, frozenset())
    )
    assert needs.status == "missing_nodes" and needs.no_output is None
