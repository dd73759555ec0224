"""Real workflows written by others (../shared/corpus/workflows), read in place."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cycle_reader import read_as_the_cycle_does
from watchman.comfy.group_inputs import group_shape
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow_graph import is_instance_type
from watchman.comfy.workflow_model import ParsedWorkflow

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "workflows"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*.json"))


@pytest.fixture(scope="module")
def parsed_corpus() -> dict[str, tuple[str, ParsedWorkflow]]:
    files = corpus_files()
    if not files:
        pytest.skip("../shared/corpus is absent: no real workflows to read")
    return {
        path.name: (path.read_text(encoding="utf-8"), read_as_the_cycle_does(path))
        for path in files
    }


def test_every_corpus_workflow_parses(parsed_corpus: dict[str, tuple[str, ParsedWorkflow]]) -> None:
    assert len(parsed_corpus) >= 50
    assert {parsed.format for _, parsed in parsed_corpus.values()} == {"ui", "api"}


def test_every_reference_value_is_a_string_present_in_its_workflow(
    parsed_corpus: dict[str, tuple[str, ParsedWorkflow]],
) -> None:
    for name, (text, parsed) in parsed_corpus.items():
        for reference in parsed.model_refs:
            # The file stores strings JSON-escaped (a backslash is written twice).
            assert json.dumps(reference.value)[1:-1] in text, (name, reference.value)


def test_no_subgraph_id_or_frontend_only_type_is_ever_a_node_type(
    parsed_corpus: dict[str, tuple[str, ParsedWorkflow]],
) -> None:
    for name, (_, parsed) in parsed_corpus.items():
        for node_type in parsed.node_types:
            assert not UUID.match(node_type), (name, node_type)
            assert node_type not in parsed.subgraph_ids, (name, node_type)
            assert not is_frontend_only(node_type), (name, node_type)
            assert not node_type.startswith(("workflow>", "workflow/")), (name, node_type)


def test_a_real_group_nodes_inputs_line_up_as_its_frontend_names_them(
    parsed_corpus: dict[str, tuple[str, ParsedWorkflow]],
) -> None:
    # The frontend's own file: a KSamplerAdvanced and a KSampler, whose inputs the group
    # shows as "model"... and, the names being taken, "KSampler model"...; nothing is
    # linked, and no output leaves the group, so each sampler reaches only itself.
    parsed = parsed_corpus["comfyui-frontend__legacy_group_node.json"][1]
    sockets = ("model", "positive", "negative", "latent_image")
    assert {use.node_id: (use.open_inputs, use.reaches) for use in parsed.nodes} == {
        "15:0": (sockets, ("KSamplerAdvanced",)),
        "15:1": (sockets, ("KSampler",)),
    }


def test_every_real_group_definition_reads_as_the_frontends_builder_reads_it(
    parsed_corpus: dict[str, tuple[str, ParsedWorkflow]],
) -> None:
    # The group inputs each definition gives (their custom or first names), in order.
    # IPAdapter plus's IP2PSampler feeds its samplers through reroutes whose inputs the
    # definition's config names "model", "positive" and "negative"; the primitives of
    # the EmptyLatentImage groups feed widgets and make no input.
    def inputs(name: str, group: str) -> list[str] | None:
        definition = json.loads(parsed_corpus[name][0])["extra"]["groupNodes"][group]
        shape = group_shape(definition, is_instance_type, lambda _: None)
        return None if shape is None else [base for _, _, base in shape.exposed]

    sampler = ["model", "positive", "negative", "latent_image"]
    assert inputs("comfyui-frontend__legacy_group_node.json", "hello") == sampler * 2
    assert inputs("ipadapter-plus__ipadapter_cosxl_edit.json", "IP2PSampler") == [
        "model",
        "positive",
        "negative",
        "vae",
        "pixels",
    ]
    for name in ("gguf-comfy__gguf-workflow.json", "lora-manager__nunchaku-flux.1-dev.json"):
        assert inputs(name, "EmptyLatentImage") == [], name


def test_known_cases_read_as_their_sources_describe(
    parsed_corpus: dict[str, tuple[str, ParsedWorkflow]],
) -> None:
    def values(name: str) -> set[tuple[str, str | None]]:
        return {(ref.value, ref.folder) for ref in parsed_corpus[name][1].model_refs}

    # A group node instance expands to its two KSamplers; a subgraph template nests and
    # names an undefined subgraph; a Windows subfolder is kept as written.
    assert parsed_corpus["comfyui-frontend__legacy_group_node.json"][1].node_types == (
        "KSampler",
        "KSamplerAdvanced",
    )
    assert any(
        "does not define" in error
        for error in parsed_corpus["comfy-cli__subgraph_template_ui.json"][1].errors
    )
    assert ("WanVideo\\Wan2_1-I2V-14B-480P_fp8_e4m3fn.safetensors", "diffusion_models") in values(
        "wanvideo-wrapper__wanvideo_480p_I2V_example_01.json"
    )
    assert ("bbox/face_yolov8m.pt", "ultralytics") in values(
        "impact-pack__detailer-pipe-test-sdxl.json"
    )
    assert ("flux1-dev-Q4_0.gguf", "diffusion_models") in values("gguf-comfy__gguf-workflow.json")
    # The URL given as a LoRA name and the MarkdownNote file lists are not references.
    assert not any(
        "://" in value for value, _ in values("cog-comfyui__glif_custom_lora_flux_hf.json")
    )
