"""The master status report as a JSON document (``master_status.json``).

Built from frozen cycle data; the Markdown page is rendered from this document alone, so
the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchman.comfy.model_key import value_parts
from watchman.stages.needs import ModelNeed, NodeNeed, WorkflowNeeds, count_statuses

SCHEMA_VERSION = 1
UNRESOLVED = {"status": "unresolved", "reason": "no backend ran"}


@dataclass(frozen=True)
class WorkflowReport:
    """One workflow's line in the report: what it is, its needs, or why it failed."""

    path: str
    source: str
    sha256: str
    format: str | None
    needs: WorkflowNeeds | None  # None on a parse error
    error: str | None
    findings: tuple[str, ...]  # non-fatal notes from the reader
    name: str = ""  # the path inside its watched folder, for people to read


def _model_need_json(need: ModelNeed, resolution: Mapping[str, Any] | None) -> dict[str, Any]:
    reference = need.reference
    parts = value_parts(reference.value)
    document: dict[str, Any] = {
        "key": need.key.text,
        "value": reference.value,
        "file_name": parts.file_name,
        "subfolder": parts.subfolder,
        "folder": reference.folder,
        "node_type": reference.node_type,
        "node_id": reference.node_id,
        "input": reference.input,
        "state": need.state,
    }
    if need.state == "misspelled":
        document["pick"] = need.pick
    if need.state in ("misplaced", "misspelled"):
        document["locations"] = [
            {"folder": found.folder, "path": found.relative_path, "root": found.root}
            for found in need.locations
        ]
    if reference.embedded is not None:
        document["embedded"] = {
            "url": reference.embedded.url,
            "directory": reference.embedded.directory,
            "hash": reference.embedded.hash,
            "hash_type": reference.embedded.hash_type,
        }
    if need.state == "missing":
        document["resolution"] = dict(resolution) if resolution is not None else dict(UNRESOLVED)
    return document


def _node_need_json(need: NodeNeed, pack: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "node_type": need.node_type,
        "node_ids": list(need.node_ids),
        "cnr_id": need.cnr_id,
        "aux_id": need.aux_id,
        "pack": dict(pack) if pack is not None else None,
    }


def is_uncertain_model(model: Mapping[str, Any]) -> bool:
    """An uncertain missing model: its resolution is UNCERTAIN (candidates, none exact), or
    its value comes from a node whose inputs are unknown, so it may not be a model at all."""
    resolution = model.get("resolution") or {}
    return resolution.get("status") == "UNCERTAIN" or (
        model.get("state") == "missing" and model.get("folder") is None
    )


def is_uncertain_node(node: Mapping[str, Any]) -> bool:
    """An uncertain missing node: several packs, or only a name pattern, may provide it."""
    return (node.get("pack") or {}).get("status") == "uncertain"


def workflow_entry(
    report: WorkflowReport,
    resolutions: Mapping[str, Mapping[str, Any]],
    packs: Callable[[NodeNeed], Mapping[str, Any] | None],
    resolved_at: str | None = None,
) -> dict[str, Any]:
    """Return one workflow's entry of the master status document.

    ``resolved_at`` stamps resolutions that carry no time of their own (answered locally
    in this cycle).
    """
    entry: dict[str, Any] = {
        "path": report.path,
        "name": report.name or report.path,
        "source": report.source,
        "sha256": report.sha256,
        "format": report.format,
    }
    if report.needs is None:
        entry.update(
            status="parse_error",
            error=report.error,
            missing_models=[],
            missing_nodes=[],
            uncertain_count=0,
            last_resolved_at=None,
        )
        return entry
    needs = report.needs

    def resolution_of(need: ModelNeed) -> Mapping[str, Any] | None:
        return resolutions.get(need.key.text)

    models = [_model_need_json(need, resolution_of(need)) for need in needs.missing_models]
    nodes = [_node_need_json(need, packs(need)) for need in needs.missing_nodes]
    for model in models:
        resolution = model.get("resolution")
        if resolution is not None and not resolution.get("resolved_at") and resolved_at:
            # Answered locally this cycle (a known source, or offline): stamped now.
            resolution["resolved_at"] = resolved_at
    uncertain = sum(1 for model in models if is_uncertain_model(model))
    uncertain += sum(1 for node in nodes if is_uncertain_node(node))
    entry.update(
        status=needs.status,
        missing_models=models,
        missing_nodes=nodes,
        uncertain_count=uncertain,
        last_resolved_at=max(
            (
                str(m["resolution"]["resolved_at"])
                for m in models
                if m.get("resolution", {}).get("resolved_at")
            ),
            default=None,
        ),
        inactive={
            "bypassed_node_ids": list(needs.bypassed_node_ids),
            "muted_node_ids": list(needs.muted_node_ids),
            "missing_models": [_model_need_json(need, None) for need in needs.inactive_models],
            "missing_nodes": [_node_need_json(need, None) for need in needs.inactive_nodes],
        },
        findings=list(report.findings),
    )
    return entry


def planned_downloads(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return one planned download per FOUND missing model, with the workflows needing it.

    Manual review is the default: nothing here is fetched, only listed.
    """
    plans: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for model in entry.get("missing_models", []):
            resolution = model.get("resolution") or {}
            if resolution.get("status") != "FOUND" or not resolution.get("download_url"):
                continue
            key = model["key"]
            folder = model.get("folder") or resolution.get("folder")
            target = "/".join(
                part
                for part in ("models", folder, model.get("subfolder"), model["file_name"])
                if part
            )
            plan = plans.setdefault(
                key,
                {
                    "file_name": model["file_name"],
                    "folder": folder,
                    "target": target,
                    "url": resolution.get("download_url"),
                    "size": resolution.get("size"),
                    "sha256": resolution.get("sha256"),
                    "source": resolution.get("backend"),
                    "trusted": bool(resolution.get("size") or resolution.get("sha256")),
                    "workflows": [],
                },
            )
            if entry["path"] not in plan["workflows"]:
                plan["workflows"].append(entry["path"])
    return sorted(plans.values(), key=lambda plan: (plan["folder"] or "", plan["file_name"]))


def build_report(
    entries: Sequence[dict[str, Any]],
    *,
    generated_at: str,
    cycle_id: str,
    comfyui_root: str,
    node_source: str,
    models_installed: int,
    node_packs: int,
    intake_new_or_updated: int,
    resolution_note: str | None,
) -> dict[str, Any]:
    """Return the whole master status document, summary first."""
    ordered = sorted(entries, key=lambda entry: entry["path"])
    missing_model_keys = {
        model["key"]
        for entry in ordered
        for model in entry["missing_models"]
        if model["state"] == "missing"
    }
    misplaced = {
        model["key"]
        for entry in ordered
        for model in entry["missing_models"]
        if model["state"] == "misplaced"
    }
    misspelled = {
        model["key"]
        for entry in ordered
        for model in entry["missing_models"]
        if model["state"] == "misspelled"
    }
    resolution_statuses: dict[str, str] = {}
    for entry in ordered:
        for model in entry["missing_models"]:
            if "resolution" in model:
                resolution_statuses[model["key"]] = str(model["resolution"].get("status"))
    missing_nodes = {node["node_type"] for entry in ordered for node in entry["missing_nodes"]}
    uncertain_items = {
        model["key"]
        for entry in ordered
        for model in entry["missing_models"]
        if is_uncertain_model(model)
    } | {
        "node:" + node["node_type"]
        for entry in ordered
        for node in entry["missing_nodes"]
        if is_uncertain_node(node)
    }
    summary = {
        "workflows": len(ordered),
        "workflows_by_status": dict(count_statuses(entry["status"] for entry in ordered)),
        "missing_models": len(missing_model_keys),
        "misplaced_models": len(misplaced),
        "misspelled_models": len(misspelled),
        "missing_nodes": len(missing_nodes),
        # Unique items the tool cannot decide: UNCERTAIN resolutions, values of unknown
        # nodes that may be models, node types several packs may provide.
        "uncertain": len(uncertain_items),
        "resolutions": {
            status: sum(1 for value in resolution_statuses.values() if value == status)
            for status in sorted(set(resolution_statuses.values()))
        },
        "models_installed": models_installed,
        "node_packs": node_packs,
        "node_source": node_source,
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "cycle_id": cycle_id,
        # What this cycle saw arrive; the rest of the document is the standing status.
        "cycle": {"intake_new_or_updated": intake_new_or_updated},
        "comfyui_root": comfyui_root,
        "resolution_note": resolution_note,
        "summary": summary,
        "downloads": planned_downloads(ordered),
        "workflows": ordered,
    }


VOLATILE_KEYS = ("generated_at", "cycle_id", "cycle")


VOLATILE_NESTED_KEYS = frozenset({"resolved_at", "last_resolved_at"})


def stable_part(document: Mapping[str, Any]) -> dict[str, Any]:
    """The report without what changes every cycle (times, cycle id), to tell a real change.

    An unchanged report is not rewritten, so the times it shows are those of its last
    real change.
    """

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_NESTED_KEYS}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return {key: strip(value) for key, value in document.items() if key not in VOLATILE_KEYS}
