"""Small builders for reports in tests: workflows in, a typed Report out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from watchman.comfy.model_key import ModelKey
from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.reporting.report import Report, build_report
from watchman.resolve import SearchResult, Status
from watchman.stages.input_needs import InputFolder
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import Assessment, assess_workflow
from watchman.stages.node_packs import PackAdvice, PackAdvices
from watchman.stages.resolve import Resolutions

ROOT = "/comfy/models"
INVENTORY = ModelInventory(
    roots={
        "checkpoints": (f"{ROOT}/checkpoints",),
        "loras": (f"{ROOT}/loras",),
        "embeddings": (f"{ROOT}/embeddings",),
    },
    files={
        "checkpoints": (
            ModelFile("checkpoints", "base.safetensors", f"{ROOT}/checkpoints", 1, 0.0),
            ModelFile("checkpoints", "stray_lora.safetensors", f"{ROOT}/checkpoints", 1, 0.0),
        ),
        "loras": (ModelFile("loras", "Style.safetensors", f"{ROOT}/loras", 1, 0.0),),
        "embeddings": (
            ModelFile("embeddings", "neg/EasyNegative.pt", f"{ROOT}/embeddings", 1, 0.0),
        ),
    },
    separator="/",  # a ComfyUI on Linux, whatever runs the tests
)
CORE = frozenset({"CheckpointLoaderSimple", "LoraLoader", "KSampler", "CLIPTextEncode"})


def found(url: str, size: int | None = 1024, sha256: str | None = "ab" * 32) -> SearchResult:
    return SearchResult(
        Status.FOUND, "civitai", "", "loras", download_url=url, size=size, sha256=sha256
    )


def lora(node_id: str, value: str) -> ModelReference:
    return ModelReference(node_id, "LoraLoader", "lora_name", value, "loras", False, False, None)


def prompt_embedding(node_id: str, name: str) -> ModelReference:
    return ModelReference(node_id, "CLIPTextEncode", "text", name, "embeddings", False, False, None)


def parsed(refs: list[ModelReference], extra_nodes: tuple[str, ...] = ()) -> ParsedWorkflow:
    nodes = [NodeUse(r.node_id, r.node_type, False, False, None, None, None) for r in refs]
    nodes += [
        NodeUse(f"n{i}", t, False, False, None, None, None) for i, t in enumerate(extra_nodes)
    ]
    return ParsedWorkflow("ui", tuple(nodes), tuple(refs), (), frozenset(), ())


def assessment(
    path: str,
    workflow: ParsedWorkflow | None,
    inventory: ModelInventory = INVENTORY,
    inputs: InputFolder | None = None,
) -> Assessment:
    needs = (
        assess_workflow(workflow, inventory, CORE, inputs=inputs) if workflow is not None else None
    )
    return Assessment(
        path=Path(path),
        name=Path(path).name,
        source="comfyui",
        sha256="0" * 64,
        parsed=workflow,
        needs=needs,
        error=None if needs is not None else "not JSON",
    )


def report_of(
    workflows: dict[str, ParsedWorkflow | None],
    resolutions: dict[tuple[str, str], SearchResult] | None = None,
    packs: dict[str, PackAdvice] | None = None,
    inventory: ModelInventory = INVENTORY,
    inputs: InputFolder | None = None,
) -> Report:
    """A report of the given workflows (path -> parsed, None for unreadable), with the
    resolutions by (folder, value), the pack advice by node type, and ComfyUI's input
    folder (None: input files not checked)."""
    by_key = {ModelKey.of(folder, value): r for (folder, value), r in (resolutions or {}).items()}
    advice = {(node_type, None, None): a for node_type, a in (packs or {}).items()}
    return build_report(
        [assessment(path, workflow, inventory, inputs) for path, workflow in workflows.items()],
        Resolutions(MappingProxyType(by_key)),
        PackAdvices(MappingProxyType(advice), node_map_used=False),
        generated_at="2026-11-30T00:00:00Z",
        cycle_id="c1",
        comfyui_root="/comfy",
        node_source="static",
        models_installed=inventory.count,
        node_packs=0,
        intake_new_or_updated=2,
    )


def pack(status: str = "found", **fields: object) -> PackAdvice:
    values: dict = {"url": None, "title": None, "candidates": (), "reason": None, **fields}
    return PackAdvice(status=status, **values)


def report_with_findings(field: str, findings: dict[str, tuple[object, ...]]) -> Report:
    """A report of plain workflows (path -> findings), each with its findings set as the
    needs' ``field`` (``out_of_range``, ``wrong_type``) and uncertain when it has any."""
    assessments = []
    for path, found in findings.items():
        plain = assessment(path, parsed([]))
        assert plain.needs is not None
        status = "uncertain" if found else plain.needs.status
        needs = replace(plain.needs, **{field: found, "status": status})
        assessments.append(replace(plain, needs=needs))
    return build_report(
        assessments,
        Resolutions(MappingProxyType({})),
        PackAdvices(MappingProxyType({}), node_map_used=False),
        generated_at="2026-12-02T00:00:00Z",
        cycle_id="c1",
        comfyui_root="/comfy",
        node_source="static",
        models_installed=0,
        node_packs=0,
        intake_new_or_updated=0,
    )
