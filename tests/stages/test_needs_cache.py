"""Needs kept between cycles: a workflow is assessed again unless its bytes and every
other input of its assessment are what they were."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

from tests.stages.test_needs import CORE, INVENTORY, node, ref, workflow
from watchman.comfy.workflow_model import EmbeddedModel
from watchman.stages.input_needs import InputFolder
from watchman.stages.intake import WatchedWorkflow
from watchman.stages.inventory.model_health import BrokenModel, ModelHealth
from watchman.stages.inventory.models import ModelFile
from watchman.stages.needs import InstalledNodes
from watchman.stages.needs_cache import (
    FILE_NAME,
    NeedsContext,
    assess_with_cache,
    context_digest,
)
from watchman.stages.workflow_entries import StoredWorkflow
from watchman.stages.workflows import WorkflowScan, scan_watched_folders

HEALTHY = ModelHealth(broken={}, judged={})
STATIC = InstalledNodes(frozenset(CORE), "static")
PARSED = workflow(
    [
        node("1", "CheckpointLoaderSimple"),
        node("2", "FancyNode", cnr_id="fancy"),
        node("3", "LoraLoader", mode=4),
    ],
    [
        ref("1", "CheckpointLoaderSimple", "sdxl\\BASE.safetensors", "checkpoints"),
        ref("4", "VAELoader", "stray_vae.safetensors", "vae"),
        replace(
            ref("5", "Mystery", "odd.ckpt", None),
            embedded=EmbeddedModel("odd.ckpt", "https://example.invalid/odd", None, None, None),
        ),
        ref("3", "LoraLoader", "gone.safetensors", "loras", mode=4),
    ],
)


def scan_of(*workflows: tuple[str, str]) -> WorkflowScan:
    stored = tuple(
        StoredWorkflow(WatchedWorkflow(Path(path), "mine", 1, 1, sha), PARSED, None)
        for path, sha in workflows
    )
    return WorkflowScan(stored, {}, 0, 0, ())


def context(tmp_path: Path, **changes: object) -> NeedsContext | None:
    cache = tmp_path / "model_cache.json"
    if not cache.exists():
        cache.write_bytes(b"{}")
    inputs: dict = dict(inventory=INVENTORY, installed=STATIC, health=HEALTHY, version="v1")
    inputs.update(changes)
    return context_digest(
        inputs["inventory"],
        cache,
        inputs["installed"],
        inputs["health"],
        inputs["version"],
        inputs=inputs.get("inputs"),
    )


def test_needs_made_for_the_same_bytes_and_context_are_taken_back(tmp_path: Path) -> None:
    cache = tmp_path / FILE_NAME
    digest = context(tmp_path)
    first = assess_with_cache(
        cache, scan_of(("/w/a.json", "aa")), INVENTORY, STATIC, HEALTHY, digest
    )
    # Prove the second answer comes from the file: its line says "ready".
    lines = cache.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'["missing_nodes"', b'["ready"', 1)
    cache.write_bytes(b"\n".join(lines))
    again = assess_with_cache(
        cache, scan_of(("/w/a.json", "aa")), INVENTORY, STATIC, HEALTHY, digest
    )
    assert first.workflows[0].status == "missing_nodes"
    assert again.workflows[0].status == "ready"
    other_bytes = assess_with_cache(
        cache, scan_of(("/w/a.json", "bb")), INVENTORY, STATIC, HEALTHY, digest
    )
    assert other_bytes.workflows[0].status == "missing_nodes"


def test_another_context_or_a_damaged_line_assesses_again(tmp_path: Path) -> None:
    cache = tmp_path / FILE_NAME
    scan = scan_of(("/w/a.json", "aa"))
    assess_with_cache(cache, scan, INVENTORY, STATIC, HEALTHY, NeedsContext("one", "m"))
    cache.write_bytes(cache.read_bytes().replace(b'["missing_nodes"', b'["ready"', 1))
    assert (
        assess_with_cache(cache, scan, INVENTORY, STATIC, HEALTHY, NeedsContext("two", "m"))
        .workflows[0]
        .status
        == "missing_nodes"
    )
    text = cache.read_bytes()
    cache.write_bytes(text[: text.rindex(b"\t") + 1] + b"[not json\n")
    assert (
        assess_with_cache(cache, scan, INVENTORY, STATIC, HEALTHY, NeedsContext("two", "m"))
        .workflows[0]
        .status
        == "missing_nodes"
    )


def test_every_input_of_an_assessment_is_in_the_context(tmp_path: Path) -> None:
    base = context(tmp_path)
    root = "/comfy/models/checkpoints"
    added = ModelFile("checkpoints", "new.safetensors", root, 1, 0.0)
    with_subfolder = replace(INVENTORY, directories={"checkpoints": frozenset({"sdxl"})})
    broken = BrokenModel("checkpoints", "SDXL/base.safetensors", root, 1, "empty", "0 bytes")
    variants = [
        context(tmp_path, version="v2"),
        context(tmp_path, installed=InstalledNodes(frozenset(CORE | {"FancyNode"}), "static")),
        context(tmp_path, installed=InstalledNodes(frozenset(CORE), "object_info")),
        context(
            tmp_path,
            health=ModelHealth(broken={f"{root}/SDXL/base.safetensors": broken}, judged={}),
        ),
        context(tmp_path, inventory=with_subfolder),
        context(tmp_path, inventory=replace(INVENTORY, case_blind_roots=frozenset({root}))),
        context(tmp_path, inventory=replace(INVENTORY, separator="\\")),
        context(tmp_path, inventory=replace(INVENTORY, folder_entries={"diffusers": (added,)})),
        context(tmp_path, inventory=replace(INVENTORY, roots={"checkpoints": (root,)})),
        context(tmp_path, inputs=InputFolder(tmp_path / "input", "one")),
        context(tmp_path, inputs=InputFolder(tmp_path / "input", "two")),
    ]
    assert None not in variants and len({base, *variants}) == len(variants) + 1
    (tmp_path / "model_cache.json").write_bytes(b'{"another": "file list"}')
    assert context(tmp_path) != base
    assert context(tmp_path).inputs == base.inputs  # the model files: see needs_lookups


def test_a_live_server_s_lists_are_in_the_context_by_the_digest_of_its_answer(
    tmp_path: Path,
) -> None:
    def server(answer: str) -> InstalledNodes:
        return InstalledNodes(
            frozenset(CORE), "object_info", lambda node_type, name: None, content_digest=answer
        )

    one, other = (
        context(tmp_path, installed=server("one")),
        context(tmp_path, installed=server("two")),
    )
    assert one is not None and other is not None
    assert one.inputs != other.inputs
    assert one == context(tmp_path, installed=server("one"))
    # Lists of unknown origin cannot be told apart: nothing is reused.
    assert context(tmp_path, installed=server("")) is None


def test_a_workflow_whose_needs_are_kept_never_has_its_cached_nodes_unpacked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.json").write_text(
            json.dumps({"1": {"class_type": "FancyNode", "inputs": {"seed": len(name)}}}),
            encoding="utf-8",
        )
        os.utime(folder / f"{name}.json", ns=(5_000_000_000, 5_000_000_000))
    cache = tmp_path / FILE_NAME
    digest = context(tmp_path)
    first = scan_watched_folders([(folder, "mine")], {}, scan_started_ns=time.time_ns())
    assess_with_cache(cache, first, INVENTORY, STATIC, HEALTHY, digest)
    (folder / "b.json").write_text(json.dumps({"1": {"class_type": "OtherNode", "inputs": {}}}))
    os.utime(folder / "b.json", ns=(6_000_000_000, 6_000_000_000))

    again = scan_watched_folders([(folder, "mine")], first.entries, scan_started_ns=time.time_ns())
    needs = assess_with_cache(cache, again, INVENTORY, STATIC, HEALTHY, digest)

    kept, edited = again.workflows
    assert kept.cached is not None and not kept.cached.unpacked
    assert edited.fresh is not None  # parsed again, and assessed from its nodes
    assert [a.status for a in needs.workflows] == ["missing_nodes", "missing_nodes"]
    assert needs.workflows[1].needs is not None
    assert {n.node_type for n in needs.workflows[1].needs.missing_nodes} == {"OtherNode"}
