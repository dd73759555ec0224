"""What each workflow needs that is not installed: a pure stage, data in, data out.

Takes a parsed workflow, the model inventory and the set of installed node types, and
returns its missing and misplaced models, its missing nodes and its status. No I/O.

Workflow status, by precedence (the first that applies wins):

1. ``parse_error``: the file could not be read as a workflow.
2. ``missing_nodes``: an active node's type is not installed.
3. ``missing_models``: an active loader names a file that is missing from its folder, or
   that is only in another folder or subfolder (misplaced: ComfyUI will not find it), or
   that is installed but spelled otherwise than ComfyUI lists it (misspelled),
   or whose installed file is broken (truncated, empty, an HTML page: see
   ``stages/inventory/model_health``; ComfyUI would fail loading it), or a prompt's
   ``embedding:`` names no file at all (nameless: the embedding the text asks for
   is missing by its very writing; with no word after it, ComfyUI fails encoding the
   text).
4. ``uncertain``: nothing is certainly missing, but a value that looks like a model file,
   on a node whose inputs are not known, is not installed anywhere: it may be a model,
   or a file the node fetches itself; or a node names a file in ComfyUI's input folder
   that is not there (``LoadImage``'s image: ComfyUI refuses the prompt until the person
   provides that file or picks one of theirs; :mod:`watchman.stages.input_needs`); or a
   list input's value is not among the choices the live server, or the node's source,
   offers (a CLIP type this ComfyUI lacks: ``Value not in list``;
   :mod:`watchman.stages.value_needs`); or a number input's value lies outside the range
   they allow (``Value 0 smaller than min of 1``; :mod:`watchman.stages.range_needs`);
   or a node an output needs leaves an input its definition requires unconnected, or fed
   only by a muted node (``Required input is missing``; judged beside a live server:
   :mod:`watchman.stages.socket_needs`); or a link into such a node leaves from an
   output whose type does not fit the input, or from a slot its source no longer has
   (``Return type mismatch between linked nodes``;
   :mod:`watchman.stages.link_type_needs`).
5. ``ready``: everything the active nodes need is installed.

Bypassed (mode 4) and muted (mode 2) nodes are listed apart and never change the status.

Which model references are missing, misplaced, misspelled, broken or nameless, and
the rules that decide it (the live server's lists, spelling, embeddings named in prompt
text, nodes that look files up by name, model folders), are
:mod:`watchman.stages.model_reference_needs`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow import reader_failure
from watchman.comfy.workflow_model import NodeUse, ParsedWorkflow
from watchman.errors import WorkflowError
from watchman.printable import printable
from watchman.stages.embedding_needs import BrokenLookup
from watchman.stages.input_needs import InputFileNeed, InputFolder, find_input_needs
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.link_type_needs import (
    MismatchedLink,
    TypesLookup,
    find_mismatched_links,
    needed_by_outputs,
)
from watchman.stages.model_reference_needs import ChoicesLookup, KeyMemo, find_model_needs
from watchman.stages.needs_lookups import Dependence, InventoryView, RecordedLookups
from watchman.stages.needs_model import ModelNeed
from watchman.stages.range_needs import OutOfRangeValue, find_out_of_range_values
from watchman.stages.socket_needs import (
    NoOutput,
    OutputLookup,
    SocketLookup,
    UnlinkedInput,
    find_no_output,
    find_unlinked_inputs,
)
from watchman.stages.type_needs import WrongTypeValue, find_wrong_type_values
from watchman.stages.value_needs import (
    CloseMemo,
    LayoutLookup,
    UnlistedValue,
    ValidatesLookup,
    find_unlisted_values,
)
from watchman.stages.workflows import ReaderFailure, WorkflowScan

WorkflowStatus = Literal["ready", "missing_models", "missing_nodes", "uncertain", "parse_error"]
STATUS_ORDER: tuple[WorkflowStatus, ...] = (
    "parse_error",
    "missing_nodes",
    "missing_models",
    "uncertain",
    "ready",
)


@dataclass(frozen=True)
class NodeNeed:
    """A node type the workflow uses that is not installed."""

    node_type: str
    node_ids: tuple[str, ...]
    cnr_id: str | None
    aux_id: str | None


@dataclass(frozen=True)
class WorkflowNeeds:
    """Everything one workflow is missing, and its status."""

    status: WorkflowStatus
    missing_models: tuple[ModelNeed, ...]
    missing_nodes: tuple[NodeNeed, ...]
    inactive_models: tuple[ModelNeed, ...]  # on bypassed or muted nodes: reported apart
    inactive_nodes: tuple[NodeNeed, ...]
    bypassed_node_ids: tuple[str, ...]
    muted_node_ids: tuple[str, ...]
    missing_inputs: tuple[InputFileNeed, ...] = ()  # files the input folder lacks
    unlisted_values: tuple[UnlistedValue, ...] = ()  # values the server's lists lack
    unlinked_inputs: tuple[UnlinkedInput, ...] = ()  # required inputs nothing feeds
    no_output: NoOutput | None = None  # no active output node: the prompt is refused
    out_of_range: tuple[OutOfRangeValue, ...] = ()  # numbers outside their ranges
    wrong_type: tuple[WrongTypeValue, ...] = ()  # values their inputs' types refuse
    mismatched_links: tuple[MismatchedLink, ...] = ()  # links their inputs' types refuse


def find_node_needs(
    nodes: Iterable[NodeUse], installed: Collection[str], subgraph_ids: Collection[str]
) -> tuple[NodeNeed, ...]:
    """Return node types that are not installed, not frontend-only and not subgraph ids."""
    grouped: dict[str, list[NodeUse]] = {}
    for node in nodes:
        if node.node_type in installed or node.node_type in subgraph_ids:
            continue
        if is_frontend_only(node.node_type):
            continue
        grouped.setdefault(node.node_type, []).append(node)
    return tuple(
        NodeNeed(
            node_type=node_type,
            node_ids=tuple(node.node_id for node in uses),
            cnr_id=next((node.cnr_id for node in uses if node.cnr_id), None),
            aux_id=next((node.aux_id for node in uses if node.aux_id), None),
        )
        for node_type, uses in sorted(grouped.items())
    )


def assess_workflow(
    parsed: ParsedWorkflow,
    inventory: InventoryView,
    installed_node_types: Collection[str],
    choices: ChoicesLookup | None = None,
    broken: BrokenLookup | None = None,
    keys: KeyMemo | None = None,
    inputs: InputFolder | None = None,
    layouts: LayoutLookup | None = None,
    validates: ValidatesLookup | None = None,
    close: CloseMemo | None = None,
    sockets: SocketLookup | None = None,
    outputs: OutputLookup | None = None,
    ranges: LayoutLookup | None = None,
    value_types: LayoutLookup | None = None,
    link_types: TypesLookup | None = None,
) -> WorkflowNeeds:
    """Work out what one parsed workflow is missing and its status.

    Args:
        parsed: the workflow.
        inventory: the installed models.
        installed_node_types: node types the install provides (server or static).
        choices: the live server's file names per (node type, input), when it answered.
        broken: why an installed file is broken (model_health); a workflow needing a
            broken file is not ready.
        keys: the model keys built so far in this stage (see :data:`KeyMemo`).
        inputs: ComfyUI's input folder (None: input files are not checked).
        layouts: the widget slots per node type, the live server's or the source's (None:
            list values are not checked).
        validates: which inputs of which node types their own validation takes (None:
            none known).
        close: the near spellings of unlisted values found so far in this stage.
        sockets: the required sockets and output flag per node type, a live server's
            (None: unconnected inputs are not judged).
        outputs: which node types are output nodes, where every type's flag is known (a
            live server's; None: a workflow without an output is not judged).
        ranges: the widget slots per node type whose number ranges are checked, the
            live server's or the source's (None: ranges are not checked).
        value_types: the widget slots per node type whose number inputs' types are checked
            (None: values of another type are not judged).
        link_types: what each node type's links carry (None, or without ``sockets``:
            links are not judged).
    """
    active_refs = [ref for ref in parsed.model_refs if not (ref.bypassed or ref.muted)]
    inactive_refs = [ref for ref in parsed.model_refs if ref.bypassed or ref.muted]
    active_nodes = [node for node in parsed.nodes if not (node.bypassed or node.muted)]
    inactive_nodes = [node for node in parsed.nodes if node.bypassed or node.muted]
    missing_models = find_model_needs(active_refs, inventory, choices, broken, keys)
    missing_nodes = find_node_needs(active_nodes, installed_node_types, parsed.subgraph_ids)
    undefined = [node for node in parsed.undefined_instances if not (node.bypassed or node.muted)]
    if undefined:
        # The definition is absent from the file: no install can provide it.
        missing_nodes = missing_nodes + find_node_needs(undefined, frozenset(), frozenset())
    missing_inputs = find_input_needs(parsed.input_files, inputs) if inputs is not None else ()
    unlisted = (
        find_unlisted_values(
            active_nodes,
            layouts,
            validates or _validates_nothing,
            parsed.model_refs,
            parsed.input_files,
            close,
        )
        if layouts is not None
        else ()
    )
    unlinked = find_unlinked_inputs(active_nodes, sockets) if sockets is not None else ()
    # A missing node may be the output: only a workflow whose nodes are all installed is
    # judged (its status says it is missing nodes anyway).
    no_output = (
        find_no_output(parsed.nodes, outputs, parsed.subgraph_ids)
        if outputs is not None and not missing_nodes
        else None
    )
    out_of_range = (
        find_out_of_range_values(
            (
                (node, numbers)
                for node, numbers in zip(parsed.nodes, parsed.node_numbers(), strict=True)
                if not (node.bypassed or node.muted)
            ),
            ranges,
            validates or _validates_nothing,
        )
        if ranges is not None
        else ()
    )
    wrong_type = (
        find_wrong_type_values(active_nodes, value_types) if value_types is not None else ()
    )
    mismatched = (
        find_mismatched_links(
            active_nodes,
            link_types,
            sockets,
            needed_by_outputs(parsed.nodes, outputs, sockets)
            if parsed.links_whole and outputs is not None
            else None,
        )
        if link_types is not None and sockets is not None
        else ()
    )
    active_types = {node.node_type for node in active_nodes}
    inactive_missing = tuple(
        need
        for need in find_node_needs(inactive_nodes, installed_node_types, parsed.subgraph_ids)
        if need.node_type not in active_types
    )
    if missing_nodes:
        status: WorkflowStatus = "missing_nodes"
    elif any(need.certain for need in missing_models):
        status = "missing_models"
    elif (
        missing_models
        or missing_inputs
        or unlisted
        or unlinked
        or no_output
        or out_of_range
        or wrong_type
        or mismatched
    ):
        status = "uncertain"
    else:
        status = "ready"
    return WorkflowNeeds(
        status=status,
        missing_models=missing_models,
        missing_nodes=missing_nodes,
        inactive_models=find_model_needs(inactive_refs, inventory, choices, keys=keys),
        inactive_nodes=inactive_missing,
        bypassed_node_ids=tuple(node.node_id for node in parsed.nodes if node.bypassed),
        muted_node_ids=tuple(node.node_id for node in parsed.nodes if node.muted),
        missing_inputs=missing_inputs,
        unlisted_values=unlisted,
        unlinked_inputs=unlinked,
        no_output=no_output,
        out_of_range=out_of_range,
        wrong_type=wrong_type,
        mismatched_links=mismatched,
    )


def _validates_nothing(node_type: str, input_name: str) -> bool:
    return False


@dataclass(frozen=True)
class InstalledNodes:
    """The node types the install provides, where that came from (``object_info`` from a
    live server, else ``static`` from reading the packs), and when the server answered,
    its file names per loader input, its widget slots and its socket rules per node
    type."""

    types: frozenset[str]
    source: Literal["object_info", "static"]
    choices: ChoicesLookup | None = None
    layouts: LayoutLookup | None = None
    sockets: SocketLookup | None = None
    outputs: OutputLookup | None = None  # only where every flag is known: a live server's
    # The layouts whose number ranges are checked (None: not checked); ``layouts`` are
    # those whose lists are, ``value_types`` those whose number inputs' types are.
    ranges: LayoutLookup | None = None
    value_types: LayoutLookup | None = None
    link_types: TypesLookup | None = None  # what each node type's links carry
    # Beside a live server, the digests of its answer's content and of the whole answer
    # (``ObjectInfo.content_digest``, ``ObjectInfo.answer_digest``).
    content_digest: str = ""
    answer_digest: str = ""


@dataclass(frozen=True)
class Assessment:
    """One watched workflow with its own needs: ``needs`` is None when it could not be
    read or parsed, and ``error`` then says why."""

    path: Path
    name: str
    source: str
    sha256: str
    parsed: ParsedWorkflow | None
    needs: WorkflowNeeds | None
    error: str | None

    @property
    def status(self) -> WorkflowStatus:
        """The workflow's status (``parse_error`` when it has no needs)."""
        return self.needs.status if self.needs is not None else "parse_error"


@dataclass(frozen=True)
class NeedsResult:
    """The needs stage's result: every workflow, each with its needs, in scan order, and
    the workflows whose assessment failed unexpectedly (path and exception type)."""

    workflows: tuple[Assessment, ...]
    failures: tuple[ReaderFailure, ...] = ()

    def with_gists(self) -> NeedsResult:
        """Return these needs with each workflow's parse cut to its gist
        (:meth:`ParsedWorkflow.gist`): all the stages after the needs ask of it."""
        return replace(
            self,
            workflows=tuple(
                replace(a, parsed=a.parsed.gist()) if a.parsed is not None else a
                for a in self.workflows
            ),
        )

    def missing_models(self) -> Iterator[ModelNeed]:
        """Every active need whose file is missing or broken (a file to fetch), not those
        misplaced or misspelled."""
        for assessment in self.workflows:
            if assessment.needs is not None:
                yield from (n for n in assessment.needs.missing_models if n.to_fetch)


KnownNeeds = Callable[[str, str], "WorkflowNeeds | None"]
"""(workflow path, sha256) -> the needs assessed for those very bytes when every other
input of the assessment was as it is now (:mod:`watchman.stages.needs_cache`), or None."""


def assess_all(
    scan: WorkflowScan,
    inventory: ModelInventory,
    installed: InstalledNodes,
    broken: BrokenLookup | None = None,
    known: KnownNeeds | None = None,
    record: Callable[[str, Dependence], None] | None = None,
    inputs: InputFolder | None = None,
    validates: ValidatesLookup | None = None,
) -> NeedsResult:
    """The needs stage: assess every workflow of the scan.

    Unreadable and unparsable workflows become assessments with their error; one whose
    assessment fails unexpectedly becomes a parse error of its own (the last-resort
    boundary per workflow), never the cycle's. ``broken`` says why an installed file
    cannot be the model (model_health); None when no file is broken. ``known`` gives
    the needs of a workflow that need not be assessed again (None: every workflow is).
    ``record``, when given, is told what each workflow assessed here asked of the
    inventory, with its path, as soon as it is assessed
    (:mod:`watchman.stages.needs_lookups`). ``inputs`` is ComfyUI's input folder (None:
    the files workflows name there are not checked). ``validates`` says which node types
    validate their own inputs (their list values are not checked against the server's).
    """
    assessed: list[Assessment] = []
    failures: list[ReaderFailure] = []
    keys: KeyMemo = {}
    close: CloseMemo = {}
    for stored in scan.workflows:
        watched = stored.watched
        needs = None
        error = stored.error
        # A workflow whose needs are kept is asked only what its outline holds: the nodes
        # of a cached parse are unpacked for the workflows assessed again alone.
        parsed = stored.outline
        if parsed is not None and known is not None:
            needs = known(str(watched.path), watched.sha256)
        if parsed is not None and needs is None:
            recorded = RecordedLookups(inventory) if record is not None else None
            try:
                parsed = stored.parsed
                assert parsed is not None
                needs = assess_workflow(
                    parsed,
                    inventory if recorded is None else recorded,
                    installed.types,
                    installed.choices,
                    broken,
                    keys,
                    inputs,
                    installed.layouts,
                    validates,
                    close,
                    installed.sockets,
                    installed.outputs,
                    installed.ranges,
                    installed.value_types,
                    installed.link_types,
                )
                if recorded is not None and record is not None:
                    record(str(watched.path), recorded.dependence())
            except WorkflowError as problem:
                error = str(problem)  # a damaged cached parse whose file is now unreadable
            except Exception as surprise:
                name = printable(str(watched.path))
                error = str(reader_failure(name, surprise))
                failures.append(ReaderFailure(name, type(surprise).__name__))
        assessed.append(
            Assessment(
                path=watched.path,
                name=stored.name or str(watched.path),
                source=watched.source,
                sha256=watched.sha256,
                parsed=parsed if needs is not None else None,
                needs=needs,
                error=error,
            )
        )
    for unreadable in scan.unreadable:
        assessed.append(
            Assessment(
                path=unreadable.path,
                name=unreadable.name or str(unreadable.path),
                source=unreadable.source,
                sha256="",
                parsed=None,
                needs=None,
                error=unreadable.error,
            )
        )
    return NeedsResult(tuple(assessed), tuple(failures))


def count_statuses(statuses: Iterable[str]) -> Mapping[str, int]:
    """Count workflows per status, every status present, in precedence order."""
    counts: dict[str, int] = dict.fromkeys(STATUS_ORDER, 0)
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts
