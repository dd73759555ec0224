"""What a cycle records of its report: the counts of the cycle state, the structured
log and the metrics (:func:`cycle_counts`), and the summary told to whoever started it
(:func:`cycle_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence

from watchman.reporting.report import Report
from watchman.resolve import Status
from watchman.resolve.budget import DEFERRED
from watchman.stages.intake import IntakeEntry
from watchman.stages.resolve import Resolutions
from watchman.state.cycle_state import CycleSummary


def cycle_summary(report: Report, intake: Sequence[IntakeEntry]) -> CycleSummary:
    """What the cycle tells the person who started it: the report's headline counts and
    how many workflows arrived new or updated."""
    summary = report.summary
    return CycleSummary(
        workflows=summary.workflows,
        workflows_by_status=dict(summary.workflows_by_status),
        missing_models=summary.missing_models,
        misplaced_models=summary.misplaced_models,
        misspelled_models=summary.misspelled_models,
        broken_models=summary.broken_models,
        nameless_embeddings=summary.nameless_embeddings,
        missing_nodes=summary.missing_nodes,
        uncertain=summary.uncertain,
        resolutions=dict(summary.resolutions),
        models_installed=summary.models_installed,
        node_packs=summary.node_packs,
        node_source=summary.node_source,
        intake_new_or_updated=len(intake),
    )


def cycle_counts(
    report: Report, resolutions: Resolutions, intake: Sequence[IntakeEntry]
) -> dict[str, int]:
    """The figures one cycle records (cycle state, structured log, metrics)."""
    summary = report.summary
    # A model the search budget left for the next cycle is not an error: it was not asked.
    statuses = [
        result.status for result in resolutions.by_key.values() if result.reason != DEFERRED
    ]
    parse_errors = summary.workflows_by_status.get("parse_error", 0)
    return {
        "workflows": summary.workflows,
        "parse_errors": parse_errors,
        "missing_models": summary.missing_models,
        "missing_nodes": summary.missing_nodes,
        "uncertain": summary.uncertain,
        "resolved": statuses.count(Status.FOUND),
        # Left for the next cycle by the search budget (never carried by an unchanged
        # cycle: a cycle with deferred models forgets its fingerprint).
        "deferred": resolutions.deferred,
        "errors": statuses.count(Status.ERROR) + parse_errors,
        "intake_new": sum(1 for change in intake if change.event == "new"),
        "intake_updated": sum(1 for change in intake if change.event == "updated"),
        "models_installed": summary.models_installed,
    }
