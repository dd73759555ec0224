"""The master status report as typed data: built from the cycle's stage results, then
turned into JSON (:mod:`watchman.reporting.document`) and Markdown
(:mod:`watchman.reporting.markdown`) when written. Both render this one value, and every
grouping in it is by :class:`~watchman.comfy.model_key.ModelKey`, so no count of one can
disagree with a table of the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, TypeVar

from watchman.comfy.model_key import ModelKey
from watchman.resolve import SearchResult, Status
from watchman.stages.download_plan import (
    DownloadPlan,
    NotPlanned,
    PlannedDownload,
    build_plan,
    wanted_models,
)
from watchman.stages.intake import IntakeEntry
from watchman.stages.needs import (
    Assessment,
    ModelNeed,
    NodeNeed,
    WorkflowStatus,
    count_statuses,
)
from watchman.stages.node_packs import PackAdvice, PackAdvices
from watchman.stages.resolve import Resolutions
from watchman.stages.workflows import FolderSeen
from watchman.state.cycle_state import CycleSummary
from watchman.state.download_log import DownloadRecord


@dataclass(frozen=True)
class ModelRow:
    """One model a workflow names that ComfyUI will not accept as written, with where to
    get it when it is missing (None: not resolved)."""

    need: ModelNeed
    resolution: SearchResult | None = None

    @property
    def key(self) -> ModelKey:
        return self.need.key

    @property
    def uncertain(self) -> bool:
        """A person must decide: its resolution is UNCERTAIN (candidates, none exact), or
        its value comes from a node whose inputs are unknown, so it may not be a model."""
        if self.resolution is not None and self.resolution.status is Status.UNCERTAIN:
            return True
        return self.need.state == "missing" and self.need.reference.folder is None


@dataclass(frozen=True)
class NodeRow:
    """One node type a workflow lacks, with the advice on the pack that provides it."""

    need: NodeNeed
    pack: PackAdvice | None = None

    @property
    def uncertain(self) -> bool:
        """Several packs, or only a name pattern, may provide it."""
        return self.pack is not None and self.pack.uncertain


@dataclass(frozen=True)
class WorkflowEntry:
    """One workflow's line in the report."""

    path: str
    name: str
    source: str
    sha256: str
    format: str | None
    status: WorkflowStatus
    error: str | None
    models: tuple[ModelRow, ...]
    nodes: tuple[NodeRow, ...]
    inactive_models: tuple[ModelRow, ...]
    inactive_nodes: tuple[NodeRow, ...]
    bypassed_node_ids: tuple[str, ...]
    muted_node_ids: tuple[str, ...]
    findings: tuple[str, ...]  # non-fatal notes from the reader

    @property
    def uncertain_count(self) -> int:
        """The things in this workflow a person must decide."""
        return sum(row.uncertain for row in self.models) + sum(row.uncertain for row in self.nodes)

    @property
    def last_resolved_at(self) -> str | None:
        """When the newest resolution of its missing models was made."""
        times = [
            row.resolution.resolved_at
            for row in self.models
            if row.resolution is not None and row.resolution.resolved_at
        ]
        return max(times, default=None)


@dataclass(frozen=True)
class Summary:
    """The report's counts. Models count once per model key, node types once per type."""

    workflows: int
    workflows_by_status: Mapping[str, int]
    missing_models: int
    misplaced_models: int
    misspelled_models: int
    missing_nodes: int
    uncertain: int
    resolutions: Mapping[str, int]
    models_installed: int
    node_packs: int
    node_source: str
    broken_models: int = 0  # present under the name, but not the model (model_health)
    # Prompt texts whose embedding: names nothing, counted per node input (no file to
    # count: each text is fixed in its own node).
    nameless_embeddings: int = 0


@dataclass(frozen=True)
class Changes:
    """What changed since the previous report, workflows named as the report names them.
    ``previous_generated_at`` is None when there was no previous report."""

    previous_generated_at: str | None
    new: tuple[str, ...]
    updated: tuple[str, ...]
    newly_ready: tuple[str, ...]
    newly_blocked: tuple[str, ...]
    # In the previous report, not in this one: deleted, renamed, or no longer watched.
    removed: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(
            self.new or self.updated or self.newly_ready or self.newly_blocked or self.removed
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "previous_generated_at": self.previous_generated_at,
            "new": list(self.new),
            "updated": list(self.updated),
            "newly_ready": list(self.newly_ready),
            "newly_blocked": list(self.newly_blocked),
            "removed": list(self.removed),
        }


@dataclass(frozen=True)
class Before:
    """What the report before this one said that its changes are told against: when it
    was made (None: it does not say) and each workflow's ``(sha256, status)`` by path, as
    its JSON gives them (text)."""

    generated_at: str | None
    workflows: Mapping[str, tuple[str, str]]

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> Before:
        """Read them from a report's JSON document (of any shape: what is not as written
        is left out)."""
        workflows: dict[str, tuple[str, str]] = {}
        items = document.get("workflows")
        for item in items if isinstance(items, list) else ():
            add_workflow(workflows, item)
        return cls(time_of(document.get("generated_at")), workflows)


def add_workflow(workflows: dict[str, tuple[str, str]], item: object) -> None:
    """Add one item of a report's ``workflows`` list (as read back) to ``workflows``:
    its ``(sha256, status)`` by path, as text; an item of another shape is left out."""
    if isinstance(item, Mapping) and isinstance(item.get("path"), str):
        workflows[item["path"]] = (str(item.get("sha256")), str(item.get("status")))


def time_of(generated_at: object) -> str | None:
    """A report's ``generated_at`` as its changes name it (None: it has none)."""
    return str(generated_at) if generated_at else None


def changes_since(
    previous: Mapping[str, Any] | Before | None,
    entries: Sequence[WorkflowEntry],
    watched_folders: Sequence[str] = (),
) -> Changes:
    """Compare the workflows with the previous report (its JSON document, or what was
    kept of it; None: there was none, so every workflow is new): new and updated (by
    sha256) workflows, those ready now that were not, those blocked now that were ready,
    and those it listed that are gone (named below the watched folder that held them,
    among ``watched_folders``, else by their path)."""
    if previous is not None and not isinstance(previous, Before):
        previous = Before.of_document(previous)
    before = previous.workflows if previous is not None else {}
    new: list[str] = []
    updated: list[str] = []
    ready: list[str] = []
    blocked: list[str] = []
    for entry in entries:
        name = entry.name or entry.path
        old = before.get(entry.path)
        if old is None:
            new.append(name)
            continue
        if old[0] != entry.sha256:
            updated.append(name)
        if entry.status == "ready" and old[1] != "ready":
            ready.append(name)
        elif entry.status != "ready" and old[1] == "ready":
            blocked.append(name)
    present = {entry.path for entry in entries}
    removed = sorted(_name_below(path, watched_folders) for path in before if path not in present)
    return Changes(
        previous_generated_at=previous.generated_at if previous is not None else None,
        new=tuple(new),
        updated=tuple(updated),
        newly_ready=tuple(ready),
        newly_blocked=tuple(blocked),
        removed=tuple(removed),
    )


def _name_below(path: str, folders: Sequence[str]) -> str:
    # As the report names a workflow: its path below the watched folder that holds it.
    for folder in folders:
        try:
            return PurePath(path).relative_to(folder).as_posix()
        except ValueError:
            continue
    return path


@dataclass(frozen=True)
class Report:
    """The whole master status report."""

    generated_at: str
    cycle_id: str
    intake_new_or_updated: int  # what this cycle saw arrive; the rest is standing status
    comfyui_root: str
    resolution_note: str | None
    summary: Summary
    downloads: tuple[PlannedDownload, ...]
    workflows: tuple[WorkflowEntry, ...]
    # FOUND results that cannot become a download as the workflow names them, and why.
    not_planned: tuple[NotPlanned, ...] = ()
    # The download log's lines since the report before this one (stages.downloads).
    downloaded: tuple[DownloadRecord, ...] = ()
    watched: tuple[FolderSeen, ...] = ()  # each watched folder: files, problems
    changes: Changes | None = None  # since the previous report (None: not compared)
    backend_urls: Mapping[str, str] = field(default_factory=dict)  # for remedies

    def unique_models(self) -> Mapping[ModelKey, tuple[ModelRow, tuple[str, ...]]]:
        """Each active model row once per key (its first row), with the paths of the
        workflows naming it, in report order. Made once per report: the actions, the
        backend problems and the page each read it (~0.1 s at 5,000 workflows)."""
        made = self.__dict__.get("_unique_models")
        if made is None:
            made = MappingProxyType(
                _unique(
                    (row.key, row, entry.path) for entry in self.workflows for row in entry.models
                )
            )
            object.__setattr__(self, "_unique_models", made)  # a cache, not a field
        return made

    def unique_nodes(self) -> dict[str, tuple[NodeRow, tuple[str, ...]]]:
        """Each missing node type once (its first row), with the workflows lacking it."""
        return _unique(
            (row.need.node_type, row, entry.path) for entry in self.workflows for row in entry.nodes
        )


K = TypeVar("K")
R = TypeVar("R")


def _unique(items: Iterable[tuple[K, R, str]]) -> dict[K, tuple[R, tuple[str, ...]]]:
    found: dict[K, tuple[R, list[str]]] = {}
    for identity, row, path in items:
        _, users = found.setdefault(identity, (row, []))
        if path not in users:
            users.append(path)
    return {identity: (row, tuple(users)) for identity, (row, users) in found.items()}


def workflow_entry(
    assessment: Assessment, resolutions: Resolutions, packs: PackAdvices
) -> WorkflowEntry:
    """Return one workflow's entry: its needs with their resolutions and pack advice."""
    needs = assessment.needs
    parsed = assessment.parsed
    if needs is None:
        return WorkflowEntry(
            path=str(assessment.path),
            name=assessment.name,
            source=assessment.source,
            sha256=assessment.sha256,
            format=None,
            status="parse_error",
            error=assessment.error,
            models=(),
            nodes=(),
            inactive_models=(),
            inactive_nodes=(),
            bypassed_node_ids=(),
            muted_node_ids=(),
            findings=(),
        )
    return WorkflowEntry(
        path=str(assessment.path),
        name=assessment.name,
        source=assessment.source,
        sha256=assessment.sha256,
        format=parsed.format if parsed is not None else None,
        status=needs.status,
        error=assessment.error,
        models=tuple(
            ModelRow(
                need,
                resolutions.get(need.key) if need.state in ("missing", "broken") else None,
            )
            for need in needs.missing_models
        ),
        nodes=tuple(NodeRow(need, packs.for_need(need)) for need in needs.missing_nodes),
        inactive_models=tuple(ModelRow(need) for need in needs.inactive_models),
        inactive_nodes=tuple(NodeRow(need) for need in needs.inactive_nodes),
        bypassed_node_ids=needs.bypassed_node_ids,
        muted_node_ids=needs.muted_node_ids,
        findings=parsed.errors if parsed is not None else (),
    )


def planned_downloads(entries: Sequence[WorkflowEntry], resolutions: Resolutions) -> DownloadPlan:
    """The plan when the cycle gave none (tests, a report rebuilt alone): every FOUND
    missing or broken model, its target shown under ``models/<folder>``. The cycle passes
    the plan of the downloads stage, with each folder's real default root."""
    return build_plan(
        wanted_models((entry.path, (row.need for row in entry.models)) for entry in entries),
        resolutions.by_key,
        lambda folder: (f"models/{folder}",),
        {},
    )


def _summary(
    entries: Sequence[WorkflowEntry], models_installed: int, node_packs: int, node_source: str
) -> Summary:
    rows = [row for entry in entries for row in entry.models]
    resolution_by_key: dict[ModelKey, str] = {}
    for row in rows:
        if row.need.state == "missing":
            status = row.resolution.status.value if row.resolution is not None else "unresolved"
            resolution_by_key[row.key] = status
    uncertain = {row.key.text for row in rows if row.uncertain} | {
        "node:" + row.need.node_type for entry in entries for row in entry.nodes if row.uncertain
    }
    return Summary(
        workflows=len(entries),
        workflows_by_status=MappingProxyType(dict(count_statuses(e.status for e in entries))),
        missing_models=len({row.key for row in rows if row.need.state == "missing"}),
        misplaced_models=len({row.key for row in rows if row.need.state == "misplaced"}),
        misspelled_models=len({row.key for row in rows if row.need.state == "misspelled"}),
        broken_models=len({row.key for row in rows if row.need.state == "broken"}),
        nameless_embeddings=sum(1 for row in rows if row.need.state == "nameless"),
        missing_nodes=len({row.need.node_type for entry in entries for row in entry.nodes}),
        # Unique items the tool cannot decide: UNCERTAIN resolutions, values of unknown
        # nodes that may be models, node types several packs may provide.
        uncertain=len(uncertain),
        resolutions=MappingProxyType(
            {
                status: sum(1 for value in resolution_by_key.values() if value == status)
                for status in sorted(set(resolution_by_key.values()))
            }
        ),
        models_installed=models_installed,
        node_packs=node_packs,
        node_source=node_source,
    )


def build_report(
    assessments: Sequence[Assessment],
    resolutions: Resolutions,
    packs: PackAdvices,
    *,
    generated_at: str,
    cycle_id: str,
    comfyui_root: str,
    node_source: str,
    models_installed: int,
    node_packs: int,
    intake_new_or_updated: int,
    downloads: DownloadPlan | None = None,
    downloaded: Sequence[DownloadRecord] = (),
    watched: Sequence[FolderSeen] = (),
    previous: Mapping[str, Any] | Before | None = None,
    backend_urls: Mapping[str, str] | None = None,
) -> Report:
    """The report stage: every workflow's entry (sorted by path), the summary and the
    planned downloads (``downloads``: the downloads stage's plan; None: derived here),
    with the files ``downloaded`` since the last report, the ``watched`` folders as the
    cycle found them, the changes since the ``previous`` report (its JSON document or its
    :class:`Before`), and the
    backends' URLs (for the remedy of one that could not be reached)."""
    entries = tuple(
        sorted(
            (workflow_entry(a, resolutions, packs) for a in assessments),
            key=lambda entry: entry.path,
        )
    )
    plan = downloads if downloads is not None else planned_downloads(entries, resolutions)
    return Report(
        generated_at=generated_at,
        cycle_id=cycle_id,
        intake_new_or_updated=intake_new_or_updated,
        comfyui_root=comfyui_root,
        resolution_note=resolutions.note,
        summary=_summary(entries, models_installed, node_packs, node_source),
        downloads=plan.tasks,
        not_planned=plan.not_planned,
        workflows=entries,
        downloaded=tuple(downloaded),
        watched=tuple(watched),
        changes=changes_since(previous, entries, [folder.path for folder in watched]),
        backend_urls=MappingProxyType(dict(backend_urls or {})),
    )


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
    statuses = [result.status for result in resolutions.by_key.values()]
    parse_errors = summary.workflows_by_status.get("parse_error", 0)
    return {
        "workflows": summary.workflows,
        "parse_errors": parse_errors,
        "missing_models": summary.missing_models,
        "missing_nodes": summary.missing_nodes,
        "uncertain": summary.uncertain,
        "resolved": statuses.count(Status.FOUND),
        "errors": statuses.count(Status.ERROR) + parse_errors,
        "intake_new": sum(1 for change in intake if change.event == "new"),
        "intake_updated": sum(1 for change in intake if change.event == "updated"),
        "models_installed": summary.models_installed,
    }
