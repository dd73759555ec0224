"""A node type several packs of the bundled table define is read by the entry of the
pack the node names (``properties.aux_id`` as "owner/name", or ``cnr_id`` as the
repository's name): ComfyUI-Diffusers' ``DiffusersPipelineLoader`` takes a checkpoint
file, MV-Adapter's takes a Hugging Face repository it downloads itself. Without a name,
or when the install's own source or the hand table knows the type, nothing changes."""

from __future__ import annotations

import json

from watchman.comfy.loader_lookup import (
    LoaderTable,
    default_table,
    loader_table,
    parse_bundled_variants,
)
from watchman.comfy.loader_source import LearnedLoader
from watchman.comfy.workflow import parse_workflow_bytes

REPO_ID = "stabilityai/stable-diffusion-xl-base-1.0"


def pipeline_loader(**properties: str) -> bytes:
    node = {
        "id": 1,
        "type": "DiffusersPipelineLoader",
        "properties": properties,
        "widgets_values": [REPO_ID, "StableDiffusionXLPipeline"],
    }
    return json.dumps({"nodes": [node]}).encode()


def references(data: bytes, table: LoaderTable | None = None) -> list[tuple[str, str | None]]:
    parsed = parse_workflow_bytes(data, "w.json", table)
    return [(ref.value, ref.folder) for ref in parsed.model_refs]


def test_the_pack_a_node_names_chooses_its_entry() -> None:
    for named in ({"aux_id": "huanngzh/ComfyUI-MVAdapter"}, {"cnr_id": "comfyui-mvadapter"}):
        assert references(pipeline_loader(**named)) == [], named


def test_without_a_pack_named_or_with_the_first_pack_the_first_entry_stands() -> None:
    first = [(REPO_ID, "checkpoints")]
    assert references(pipeline_loader()) == first
    assert references(pipeline_loader(cnr_id="some-other-pack")) == first
    assert references(pipeline_loader(aux_id="Limitex/ComfyUI-Diffusers")) == first


def test_an_installed_packs_own_loader_wins_over_any_bundled_entry() -> None:
    installed = LearnedLoader(
        node_type="DiffusersPipelineLoader",
        widgets=("ckpt_name",),
        model_inputs=(("ckpt_name", ("diffusers",)),),
    )
    table = loader_table([installed])
    assert table.for_pack("DiffusersPipelineLoader", "comfyui-mvadapter", None) is table


def test_only_types_several_packs_define_have_variants() -> None:
    def entry(node_type: str, repository: str) -> dict:
        return {
            "node_type": node_type,
            "pack": repository.rsplit("/", 1)[-1],
            "repository": repository,
            "widgets": ["x"],
            "inputs": {},
        }

    document = {
        "entries": [
            entry("Shared", "https://github.com/a/One"),
            entry("Shared", "https://github.com/b/Two.git"),
            entry("Alone", "https://github.com/a/One"),
            {"node_type": "Broken", "repository": 3},
        ]
    }
    variants = parse_bundled_variants(document)
    assert list(variants) == ["Shared"]
    assert [repository for repository, _ in variants["Shared"]] == ["a/One", "b/Two"]
    table = default_table()
    assert table.for_pack("KSampler", "comfyui-mvadapter", None) is table
