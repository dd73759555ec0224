"""The master status report as a JSON document (``master_status.json``), made from the
typed :class:`~watchman.reporting.report.Report` only when it is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchman.comfy.model_key import value_parts
from watchman.reporting.action import Action
from watchman.reporting.advice import BackendProblem, actions, backend_problems
from watchman.reporting.report import (
    ModelRow,
    NodeRow,
    Report,
    Summary,
    WorkflowEntry,
)
from watchman.reporting.report_index import REPORT_SCHEMA_VERSION
from watchman.reporting.stream import VOLATILE_KEYS, VOLATILE_NESTED_KEYS, Items
from watchman.stages.node_packs import PackAdvice

UNRESOLVED: Mapping[str, str] = {"status": "unresolved", "reason": "no backend ran"}


def _model_json(row: ModelRow, with_resolution: bool) -> dict[str, Any]:
    need = row.need
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
    if need.rewrite is not None:
        document["rewrite"] = need.rewrite
    if need.state in ("broken", "nameless"):
        document["problem"] = need.problem
    if need.state in ("misplaced", "misspelled", "broken"):
        document["locations"] = [
            {"folder": found.folder, "path": found.relative_path, "root": found.root}
            for found in need.locations
        ]
        if need.more_locations:
            document["more_locations"] = need.more_locations
    if reference.embedded is not None:
        document["embedded"] = {
            "url": reference.embedded.url,
            "directory": reference.embedded.directory,
            "hash": reference.embedded.hash,
            "hash_type": reference.embedded.hash_type,
        }
    if with_resolution and need.to_fetch:
        resolution = row.resolution
        document["resolution"] = resolution.to_json() if resolution else dict(UNRESOLVED)
    return document


def _pack_json(pack: PackAdvice) -> dict[str, Any]:
    return {
        "status": pack.status,
        "url": pack.url,
        "title": pack.title,
        "candidates": [{"url": c.url, "title": c.title} for c in pack.candidates],
        "reason": pack.reason,
    }


def _node_json(row: NodeRow) -> dict[str, Any]:
    need = row.need
    return {
        "node_type": need.node_type,
        "node_ids": list(need.node_ids),
        "cnr_id": need.cnr_id,
        "aux_id": need.aux_id,
        "pack": _pack_json(row.pack) if row.pack is not None else None,
    }


def workflow_json(entry: WorkflowEntry) -> dict[str, Any]:
    """Return one workflow's entry of the master status document."""
    document: dict[str, Any] = {
        "path": entry.path,
        "name": entry.name or entry.path,
        "source": entry.source,
        "sha256": entry.sha256,
        "format": entry.format,
        "status": entry.status,
    }
    if entry.status == "parse_error":
        document.update(
            error=entry.error,
            missing_models=[],
            missing_nodes=[],
            missing_inputs=[],
            unlisted_values=[],
            out_of_range_values=[],
            wrong_type_values=[],
            mismatched_links=[],
            unlinked_inputs=[],
            no_output=None,
            uncertain_count=0,
            last_resolved_at=None,
        )
        return document
    document.update(
        missing_models=[_model_json(row, True) for row in entry.models],
        missing_nodes=[_node_json(row) for row in entry.nodes],
        missing_inputs=[
            {
                "node_id": need.reference.node_id,
                "node_type": need.reference.node_type,
                "input": need.reference.input,
                "value": need.reference.value,
                "state": need.state,
            }
            for need in entry.inputs
        ],
        unlisted_values=[
            {
                "node_id": value.node_id,
                "node_type": value.node_type,
                "input": value.input,
                "value": value.value,
                "offered": value.offered,
                "closest": list(value.closest),
            }
            for value in entry.values
        ],
        out_of_range_values=[
            {
                "node_id": value.node_id,
                "node_type": value.node_type,
                "input": value.input,
                "value": value.value,
                "side": value.side,
                "min": value.minimum,
                "max": value.maximum,
            }
            for value in entry.ranges
        ],
        wrong_type_values=[
            {
                "node_id": value.node_id,
                "node_type": value.node_type,
                "input": value.input,
                "value": value.value,
                "type": value.expected,
            }
            for value in entry.wrong_types
        ],
        mismatched_links=[
            {
                "node_id": link.node_id,
                "node_type": link.node_type,
                "input": link.input,
                "source_id": link.source_id,
                "source_type": link.source_type,
                "slot": link.slot,
                "received": link.received,
                "expected": link.expected,
            }
            for link in entry.mismatched
        ],
        unlinked_inputs=[
            {"node_id": node.node_id, "node_type": node.node_type, "inputs": list(node.inputs)}
            for node in entry.unlinked
        ],
        no_output=(
            None
            if entry.no_output is None
            else {
                "inactive_outputs": [
                    {"node_id": node.node_id, "node_type": node.node_type, "state": node.state}
                    for node in entry.no_output.inactive
                ]
            }
        ),
        uncertain_count=entry.uncertain_count,
        last_resolved_at=entry.last_resolved_at,
        inactive={
            "bypassed_node_ids": list(entry.bypassed_node_ids),
            "muted_node_ids": list(entry.muted_node_ids),
            "missing_models": [_model_json(row, False) for row in entry.inactive_models],
            "missing_nodes": [_node_json(row) for row in entry.inactive_nodes],
        },
        findings=list(entry.findings),
    )
    return document


def _summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "workflows": summary.workflows,
        "workflows_by_status": dict(summary.workflows_by_status),
        "missing_models": summary.missing_models,
        "misplaced_models": summary.misplaced_models,
        "misspelled_models": summary.misspelled_models,
        "broken_models": summary.broken_models,
        "nameless_embeddings": summary.nameless_embeddings,
        "missing_nodes": summary.missing_nodes,
        "missing_input_files": summary.missing_input_files,
        "unlisted_values": summary.unlisted_values,
        "values_out_of_range": summary.values_out_of_range,
        "values_of_wrong_type": summary.values_of_wrong_type,
        "mismatched_links": summary.mismatched_links,
        "unlinked_inputs": summary.unlinked_inputs,
        "workflows_without_output": summary.workflows_without_output,
        "uncertain": summary.uncertain,
        "resolutions": dict(summary.resolutions),
        "models_installed": summary.models_installed,
        "node_packs": summary.node_packs,
        "node_source": summary.node_source,
    }


def report_json(report: Report) -> dict[str, Any]:
    """Return the whole master status document, summary first (the cycle writes it with
    :func:`document_parts`, never whole)."""
    parts = document_parts(report, actions(report), backend_problems(report, report.backend_urls))
    return {key: list(value) if isinstance(value, Items) else value for key, value in parts.items()}


def document_parts(
    report: Report, todo: Sequence[Action], problems: Sequence[BackendProblem]
) -> dict[str, Any]:
    """Return the master status document with its long lists (the workflows, the actions)
    as :class:`~watchman.reporting.stream.Items`, made one item at a time as they are
    written. ``todo`` and ``problems`` are the report's ``actions`` and
    ``backend_problems`` (made once for the JSON and the Markdown)."""
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "generated_at": report.generated_at,
        "cycle_id": report.cycle_id,
        # What this cycle saw arrive; the rest of the document is the standing status.
        "cycle": {"intake_new_or_updated": report.intake_new_or_updated},
        "comfyui_root": report.comfyui_root,
        "comfyui_found_by": report.comfyui_found_by,
        "watched_folders": [
            {
                "path": folder.path,
                "source": folder.source,
                "files": folder.files,
                "listed": folder.listed,
                "problems": list(folder.problems),
            }
            for folder in report.watched
        ],
        "findings": [problem for folder in report.watched for problem in folder.problems],
        "changes": report.changes.to_json() if report.changes is not None else None,
        "actions": Items(lambda: (action.to_json() for action in todo)),
        "commands_run_in": report.comfyui_root,
        "backend_problems": [problem.to_json() for problem in problems],
        "resolution_note": report.resolution_note,
        "summary": _summary_json(report.summary),
        "downloads": [plan.to_json() for plan in report.downloads],
        "not_planned": [item.to_json() for item in report.not_planned],
        "downloaded": [item.to_json() for item in report.downloaded],
        "workflows": Items(lambda: (workflow_json(entry) for entry in report.workflows)),
    }


def stable_part(document: Mapping[str, Any]) -> dict[str, Any]:
    """The report without what changes every cycle (times, cycle id), to tell a real change
    (the cycle compares :func:`~watchman.reporting.stream.stable_digest` of it instead).

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
