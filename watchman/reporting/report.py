"""The master status report as typed data: built from the cycle's stage results, then
turned into JSON (:mod:`watchman.reporting.document`) and Markdown
(:mod:`watchman.reporting.markdown`) when written. Both render this one value, and every
grouping in it is by :class:`~watchman.comfy.model_key.ModelKey`, so no count of one can
disagree with a table of the other. What changed since the report before is told by
:mod:`watchman.reporting.changes`; what a cycle records of the report, by
:mod:`watchman.reporting.cycle_figures`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from watchman.comfy.model_key import ModelKey
from watchman.reporting.changes import Before, Changes, changes_since
from watchman.resolve import SearchResult, Status
from watchman.stages.download_plan import (
    DownloadPlan,
    NotPlanned,
    PlannedDownload,
    build_plan,
    wanted_models,
)
from watchman.stages.input_needs import InputFileNeed
from watchman.stages.link_type_needs import MismatchedLink
from watchman.stages.needs import (
    Assessment,
    ModelNeed,
    NodeNeed,
    WorkflowStatus,
    count_statuses,
)
from watchman.stages.node_packs import PackAdvice, PackAdvices
from watchman.stages.range_needs import OutOfRangeValue
from watchman.stages.resolve import Resolutions
from watchman.stages.socket_needs import NoOutput, UnlinkedInput
from watchman.stages.type_needs import WrongTypeValue
from watchman.stages.value_needs import UnlistedValue
from watchman.stages.workflows import FolderSeen
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
        """A person must decide (its action is marked so): its resolution is UNCERTAIN
        (candidates, none exact), its value comes from a node whose inputs are unknown,
        so it may not be a model, or it is misplaced and several installed files bear
        its name (which one the workflow means is the person's call)."""
        if self.resolution is not None and self.resolution.status is Status.UNCERTAIN:
            return True
        need = self.need
        if need.state == "misplaced":
            return need.reference.folder is not None and need.places > 1
        return need.state == "missing" and need.reference.folder is None


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
    # Files named in ComfyUI's input folder that are not there: each is the person's call
    # (provide that very file, or pick one of theirs).
    inputs: tuple[InputFileNeed, ...] = ()
    # List values the live ComfyUI does not offer (a scheduler it lacks): the person's
    # call too (pick another, or update what would add it).
    values: tuple[UnlistedValue, ...] = ()
    # Nodes an output needs whose required inputs nothing feeds: ComfyUI refuses the
    # workflow until they are connected (or the nodes bypassed).
    unlinked: tuple[UnlinkedInput, ...] = ()
    # No active output node: ComfyUI refuses the whole prompt until one is added or
    # enabled (beside a live server only, where every node type's flag is known).
    no_output: NoOutput | None = None
    # Numbers outside the range the install allows: the person's call (change the value,
    # or update what would allow it).
    ranges: tuple[OutOfRangeValue, ...] = ()
    # Values ComfyUI cannot convert to their inputs' types (a text on an INT input): the
    # person's call (which number was meant).
    wrong_types: tuple[WrongTypeValue, ...] = ()
    # Links whose source's output the input does not take (or a slot the source no
    # longer has): the person's call (reconnect, or replace the node).
    mismatched: tuple[MismatchedLink, ...] = ()

    @property
    def uncertain_count(self) -> int:
        """The things in this workflow a person must decide."""
        return (
            sum(row.uncertain for row in self.models)
            + sum(row.uncertain for row in self.nodes)
            + len(self.inputs)
            + len(self.values)
            + len(self.unlinked)
            + (self.no_output is not None)
            + len(self.ranges)
            + len(self.wrong_types)
            + len(self.mismatched)
        )

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
    # Distinct names of files the workflows need in ComfyUI's input folder and lack.
    missing_input_files: int = 0
    # Distinct (node type, input, value) a live ComfyUI's lists do not offer.
    unlisted_values: int = 0
    # Nodes (per workflow) an output needs whose required inputs nothing feeds.
    unlinked_inputs: int = 0
    # Workflows with no active output node (ComfyUI: "Prompt has no outputs").
    workflows_without_output: int = 0
    # Distinct (node type, input, value) outside the range the install allows.
    values_out_of_range: int = 0
    # Distinct (node type, input, value) ComfyUI cannot convert to the input's type.
    values_of_wrong_type: int = 0
    # Links whose source's output type the input they feed does not take.
    mismatched_links: int = 0


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
    # How the ComfyUI folder was chosen: "set", or "detected: <rule>" naming the other
    # installs detection found (comfy/install.py); empty when not said.
    comfyui_found_by: str = ""
    # ComfyUI's input folder, and for a (workflow path, input file name) it lacks, the
    # file of that name beside the workflow (stages.input_needs.files_beside).
    input_folder: str | None = None
    inputs_beside: Mapping[tuple[str, str], str] = field(default_factory=dict)
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
    # The workflows of each need as a dict (unique, in order): a list's "in" cost the
    # square of the workflows sharing one need (25,000 sharing one model: seconds).
    found: dict[K, tuple[R, dict[str, None]]] = {}
    for identity, row, path in items:
        found.setdefault(identity, (row, {}))[1][path] = None
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
                resolutions.get(need.key) if need.to_fetch else None,
            )
            for need in needs.missing_models
        ),
        nodes=tuple(NodeRow(need, packs.for_need(need)) for need in needs.missing_nodes),
        inactive_models=tuple(ModelRow(need) for need in needs.inactive_models),
        inactive_nodes=tuple(NodeRow(need) for need in needs.inactive_nodes),
        bypassed_node_ids=needs.bypassed_node_ids,
        muted_node_ids=needs.muted_node_ids,
        findings=parsed.errors if parsed is not None else (),
        inputs=needs.missing_inputs,
        values=needs.unlisted_values,
        unlinked=needs.unlinked_inputs,
        no_output=needs.no_output,
        ranges=needs.out_of_range,
        wrong_types=needs.wrong_type,
        mismatched=needs.mismatched_links,
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


NOT_ASKED_YET = frozenset({"deferred", "interrupted"})
"""Reasons of a result that is no answer: the search did not reach the model this cycle
(its budget was spent, or a stop came first); the next cycle asks."""


def resolution_status(result: SearchResult | None) -> str:
    """The status a person reads for a missing model's resolution: the result's, or
    ``unresolved`` when there is none or the search did not reach it this cycle."""
    if result is None or result.reason in NOT_ASKED_YET:
        return "unresolved"
    return result.status.value


def _summary(
    entries: Sequence[WorkflowEntry], models_installed: int, node_packs: int, node_source: str
) -> Summary:
    rows = [row for entry in entries for row in entry.models]
    resolution_by_key: dict[ModelKey, str] = {}
    for row in rows:
        if row.need.state == "missing":
            resolution_by_key[row.key] = resolution_status(row.resolution)
    inputs = {need.reference.value for entry in entries for need in entry.inputs}
    values = {
        (value.node_type, value.input, value.value) for entry in entries for value in entry.values
    }
    ranges = {
        (value.node_type, value.input, repr(value.value))
        for entry in entries
        for value in entry.ranges
    }
    wrong_types = {
        (value.node_type, value.input, repr(value.value))  # a text, or None for null
        for entry in entries
        for value in entry.wrong_types
    }
    uncertain = (
        {row.key.text for row in rows if row.uncertain}
        | {
            "node:" + row.need.node_type
            for entry in entries
            for row in entry.nodes
            if row.uncertain
        }
        | {"input:" + value for value in inputs}
        | {"value:" + "\0".join(value) for value in values}
        | {"range:" + "\0".join(value) for value in ranges}
        | {"type:" + "\0".join(value) for value in wrong_types}
        | {f"unlinked:{entry.path}\0{node.node_id}" for entry in entries for node in entry.unlinked}
        | {f"no_output:{entry.path}" for entry in entries if entry.no_output is not None}
        | {
            f"link:{entry.path}\0{link.node_id}\0{link.input}"
            for entry in entries
            for link in entry.mismatched
        }
    )
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
        # nodes that may be models, node types several packs may provide, input files,
        # list values the server does not offer, nodes left with open required inputs,
        # workflows with no output, links of mismatched types.
        uncertain=len(uncertain),
        missing_input_files=len(inputs),
        unlisted_values=len(values),
        unlinked_inputs=sum(len(entry.unlinked) for entry in entries),
        workflows_without_output=sum(entry.no_output is not None for entry in entries),
        values_out_of_range=len(ranges),
        values_of_wrong_type=len(wrong_types),
        mismatched_links=sum(len(entry.mismatched) for entry in entries),
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
    comfyui_found_by: str = "",
    node_source: str,
    models_installed: int,
    node_packs: int,
    intake_new_or_updated: int,
    downloads: DownloadPlan | None = None,
    downloaded: Sequence[DownloadRecord] = (),
    watched: Sequence[FolderSeen] = (),
    previous: Mapping[str, Any] | Before | None = None,
    backend_urls: Mapping[str, str] | None = None,
    input_folder: str | None = None,
    inputs_beside: Mapping[tuple[str, str], str] | None = None,
) -> Report:
    """The report stage: every workflow's entry (sorted by path), the summary and the
    planned downloads (``downloads``: the downloads stage's plan; None: derived here),
    with the files ``downloaded`` since the last report, the ``watched`` folders as the
    cycle found them, the changes since the ``previous`` report (its JSON document or its
    :class:`~watchman.reporting.changes.Before`), and the
    backends' URLs (for the remedy of one that could not be reached), ComfyUI's input
    folder and the missing input files found beside their workflows."""
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
        comfyui_found_by=comfyui_found_by,
        resolution_note=resolutions.note,
        summary=_summary(entries, models_installed, node_packs, node_source),
        downloads=plan.tasks,
        not_planned=plan.not_planned,
        workflows=entries,
        downloaded=tuple(downloaded),
        watched=tuple(watched),
        changes=changes_since(previous, entries, [folder.path for folder in watched]),
        backend_urls=MappingProxyType(dict(backend_urls or {})),
        input_folder=input_folder,
        inputs_beside=MappingProxyType(dict(inputs_beside or {})),
    )
