"""What each workflow needs that is not installed: a pure stage, data in, data out.

Takes a parsed workflow, the model inventory and the set of installed node types, and
returns its missing and misplaced models, its missing nodes and its status. No I/O.

Workflow status, by precedence (the first that applies wins):

1. ``parse_error``: the file could not be read as a workflow.
2. ``missing_nodes``: an active node's type is not installed.
3. ``missing_models``: an active loader names a file that is missing from its folder, or
   that is only in another folder or subfolder (misplaced: ComfyUI will not find it), or
   that is installed but spelled otherwise than ComfyUI lists it (misspelled, below),
   or whose installed file is broken (truncated, empty, an HTML page: see
   ``stages/inventory/model_health``; ComfyUI would fail loading it), or a prompt's
   ``embedding:`` names no file at all (nameless, below: the embedding the text asks for
   is missing by its very writing; with no word after it, ComfyUI fails encoding the
   text).
4. ``uncertain``: nothing is certainly missing, but a value that looks like a model file,
   on a node whose inputs are not known, is not installed anywhere: it may be a model,
   or a file the node fetches itself.
5. ``ready``: everything the active nodes need is installed.

Bypassed (mode 4) and muted (mode 2) nodes are listed apart and never change the status.

When a ComfyUI server answered, the file names its ``/object_info`` lists for a loader's
input are the truth: a value listed there is present, whatever the static inventory
knows (packs register folders of their own that no static table can know).

Spelling: ComfyUI refuses a loader value that is not exactly in the loader's file list
(``Value not in list``, ``validate_inputs`` in its execution.py), and that list spells each
file as ``os.path.relpath`` does on the OS ComfyUI runs on. A value that matches an
installed file only after folding case or separators (``SDXL\\x.safetensors`` on Linux,
``STYLE.SAFETENSORS`` for ``style.safetensors``) is therefore *misspelled*: the need names
the exact installed name to pick. Values of unknown inputs, which ComfyUI checks against
no list, keep the lenient match.

Embeddings named in prompt text (``embedding:name``; judged in
:mod:`watchman.stages.embedding_needs`) follow ComfyUI's tokenizer
(``load_embed`` in ``comfy/sd1_clip.py``): under every embeddings directory and each of its
subdirectories, the name as written, then with ``.safetensors``, ``.pt`` or ``.bin`` added
(:func:`watchman.comfy.model_key.embedding_targets`). A file it finds that way is present,
whatever subfolder holds it; the disk decides letter case, so one that matches only in
another case is misspelled, except on Windows, whose disks ignore case. ComfyUI skips an
embedding it cannot find with a warning and renders anyway, so a wrong "present" here
would be a ``ready`` workflow rendering something else. A token followed by no word
(``a cat, embedding:``, ``(embedding:)``) makes ComfyUI's tokenizer raise
(``_try_get_embedding`` takes the first word of nothing): the prompt cannot be encoded,
so the need is ``nameless`` and the workflow is not ready; so is a token of commas
alone (``embedding:,``), which ComfyUI skips with a warning, unless a file of that very
name exists.

Nodes that look a file up themselves (``lookup == "by_name"``: ``<lora:...>`` tags, rgthree
Power Lora Loader entries, LoRA Manager lists) follow their own rule instead
(:func:`watchman.comfy.model_key.found_by_name`): a file they find by its name, with or
without extension, in any subfolder of the folder, is present, neither misplaced nor
misspelled. One they would miss but that matches in another letter case is misspelled.

Loaders whose values name a model folder (``lookup == "folder"``: Florence2's
``models/LLM/<name>``, diffusers) follow :mod:`watchman.stages.folder_needs`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watchman.comfy.folders import FOLDER_TYPES
from watchman.comfy.loader_lookup import loader_spec
from watchman.comfy.model_key import (
    ModelKey,
    by_name_file_names,
    fold_case,
    found_by_name,
    is_exact_spelling,
    listed_name,
)
from watchman.comfy.node_kinds import is_frontend_only
from watchman.comfy.workflow import reader_failure
from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.printable import printable
from watchman.stages.embedding_needs import BrokenLookup, embedding_need
from watchman.stages.folder_needs import folder_need
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs_lookups import Dependence, InventoryView, RecordedLookups
from watchman.stages.needs_model import ModelNeed
from watchman.stages.workflows import ReaderFailure, WorkflowScan

# (node type, input name) -> the file names the live server offers, or None.
ChoicesLookup = Callable[[str, str], "tuple[str, ...] | None"]

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


def _checked_against_list(reference: ModelReference) -> bool:
    """Whether ComfyUI checks this value against the loader's exact file list: any value
    of a known folder, except embeddings named in prompt text (ComfyUI looks those up by
    path, not through a list)."""
    if reference.folder is None:
        return False
    if reference.folder == "embeddings":
        spec = loader_spec(reference.node_type)
        return spec is not None and reference.input in spec.model_inputs
    return True


def named_in_prompt(reference: ModelReference) -> bool:
    """Whether ``reference`` is an ``embedding:name`` token of prompt text, which ComfyUI's
    tokenizer looks up by path (see the module's docstring), not a loader's value."""
    return reference.folder == "embeddings" and not _checked_against_list(reference)


def _server_answer(
    reference: ModelReference, key: ModelKey, choices: ChoicesLookup | None
) -> ModelNeed | Literal["listed"] | None:
    """What the live server's list says: ``listed`` when it offers the value as written,
    a misspelled need when it offers it only in another spelling, None when it does not
    know the input or the file (the static inventory decides)."""
    if choices is None or reference.input is None:
        return None
    offered = choices(reference.node_type, reference.input)
    if not offered:
        return None
    if reference.value in offered:
        return "listed"
    for choice in offered:
        if ModelKey.of(key.folder, choice).path == key.path:
            if _checked_against_list(reference):
                return ModelNeed(reference, key, "misspelled", (), pick=choice)
            return "listed"
    return None


def _spelling_need(
    reference: ModelReference, key: ModelKey, hits: tuple[ModelFile, ...], separator: str
) -> ModelNeed | None:
    """A misspelled need when ComfyUI would refuse the value for the installed file(s)
    ``hits``, else None."""
    if not hits or not _checked_against_list(reference):
        return None
    if any(is_exact_spelling(reference.value, hit.relative_path, separator) for hit in hits):
        return None
    same_path = [hit for hit in hits if fold_case(hit.relative_path) == key.path]
    if not same_path:
        return None  # found through an extension the loader adds itself
    return ModelNeed(
        reference,
        key,
        "misspelled",
        tuple(same_path),
        pick=listed_name(same_path[0].relative_path, separator),
    )


def _by_name_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView, broken: BrokenLookup | None
) -> ModelNeed | None:
    """The need of a reference whose node looks the file up by name itself: None when it
    finds a sound file, broken when the file it finds is broken, misspelled when it would
    find one only in another letter case, else what the inventory says (misplaced in
    another folder, or missing)."""
    folder = key.folder or ""
    separator = inventory.separator
    files = _by_name_candidates(reference.value, folder, inventory)
    hits = tuple(f for f in files if found_by_name(reference.value, f.relative_path, separator))
    if hits:
        problem = None if broken is None else broken(hits[0])
        if problem is None:
            return None
        return ModelNeed(reference, key, "broken", hits[:1], problem=problem)
    folded = fold_case(reference.value)
    near = tuple(f for f in files if found_by_name(folded, fold_case(f.relative_path), separator))
    if near:
        return ModelNeed(
            reference, key, "misspelled", near, pick=listed_name(near[0].relative_path, separator)
        )
    presence = inventory.locate(key)
    if presence.state == "present":
        return None  # a file of another type kept under the folder's roots
    return ModelNeed(reference, key, presence.state, presence.locations)


def _by_name_candidates(value: str, folder: str, inventory: InventoryView) -> tuple[ModelFile, ...]:
    """The files of ``folder`` a by-name lookup of ``value`` may find, in any letter case
    (:func:`watchman.comfy.model_key.by_name_file_names`), in inventory order. Testing
    every file of the folder was references x files: hours for thousands of LoRA-tag
    workflows beside 100,000 models. A folder whose files may bear any extension is
    still tested whole."""
    kind = FOLDER_TYPES.get(folder)
    if kind is None or not kind.extensions or inventory.holds_fewer(folder, _INDEXED_FROM):
        return inventory.folder_files(folder)
    wanted = by_name_file_names(value, inventory.separator, kind.extensions)
    return tuple(model for model in inventory.named(folder, *wanted) if model.folder == folder)


_INDEXED_FROM = 64
"""Below this many files a folder is tested whole (the lookups would cost more)."""


def _broken_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView, broken: BrokenLookup
) -> ModelNeed | None:
    """A broken need when the file ComfyUI would load for ``key`` is broken, else None."""
    presence = inventory.locate(key)
    if presence.state != "present" or not presence.locations:
        return None
    problem = broken(presence.locations[0])
    if problem is None:
        return None
    return ModelNeed(reference, key, "broken", presence.locations[:1], problem=problem)


KeyMemo = dict[tuple["str | None", str], ModelKey]
"""The keys of (folder, value) pairs already seen in one needs stage: thousands of
workflows name the same models, and building a key normalises a path."""


def find_model_needs(
    references: Iterable[ModelReference],
    inventory: InventoryView,
    choices: ChoicesLookup | None = None,
    broken: BrokenLookup | None = None,
    keys: KeyMemo | None = None,
) -> tuple[ModelNeed, ...]:
    """Return the references whose file is missing, misplaced, misspelled or broken, in
    workflow order.

    ``choices`` is the live server's file list per loader input, when one answered;
    ``broken`` says why an installed file cannot be the model (None: no file is broken);
    ``keys`` remembers the keys built in this stage (None: none are remembered).
    """
    needs = []
    keys = {} if keys is None else keys
    for reference in references:
        pair = (reference.folder, reference.value)
        key = keys.get(pair)
        if key is None:
            key = keys[pair] = ModelKey.of(reference.folder, reference.value)
        if named_in_prompt(reference):
            need = embedding_need(reference, key, inventory, broken)
            if need is not None:
                needs.append(need)
            continue
        if reference.lookup == "by_name":
            need = _by_name_need(reference, key, inventory, broken)
            if need is not None:
                needs.append(need)
            continue
        answer = _server_answer(reference, key, choices)
        if answer is None and reference.lookup == "folder":
            need = folder_need(reference, key, inventory)  # a model folder, not a file
            if need is not None:
                needs.append(need)
            continue
        if answer == "listed":
            # The server lists whatever file bears the name, broken or not (and any
            # folder, empty or not).
            if reference.lookup == "folder":
                damaged = folder_need(reference, key, inventory)
                damaged = damaged if damaged is not None and damaged.state == "broken" else None
            else:
                damaged = (
                    None if broken is None else _broken_need(reference, key, inventory, broken)
                )
            if damaged is not None:
                needs.append(damaged)
            continue
        if isinstance(answer, ModelNeed):
            needs.append(answer)
            continue
        presence = inventory.locate(key)
        if presence.state == "present":
            misspelled = _spelling_need(reference, key, presence.locations, inventory.separator)
            if misspelled is not None:
                needs.append(misspelled)
            elif broken is not None:
                damaged = _broken_need(reference, key, inventory, broken)
                if damaged is not None:
                    needs.append(damaged)
            continue
        needs.append(ModelNeed(reference, key, presence.state, presence.locations))
    return tuple(needs)


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
    elif missing_models:
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
    )


@dataclass(frozen=True)
class InstalledNodes:
    """The node types the install provides, where that came from (``object_info`` from a
    live server, else ``static`` from reading the packs), and the server's file names per
    loader input when it answered."""

    types: frozenset[str]
    source: Literal["object_info", "static"]
    choices: ChoicesLookup | None = None


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

    def missing_models(self) -> Iterator[ModelNeed]:
        """Every active need whose file is missing or broken (a file to fetch), not those
        misplaced or misspelled."""
        for assessment in self.workflows:
            if assessment.needs is not None:
                yield from (
                    n for n in assessment.needs.missing_models if n.state in ("missing", "broken")
                )


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
) -> NeedsResult:
    """The needs stage: assess every workflow of the scan.

    Unreadable and unparsable workflows become assessments with their error; one whose
    assessment fails unexpectedly becomes a parse error of its own (the last-resort
    boundary per workflow), never the cycle's. ``broken`` says why an installed file
    cannot be the model (model_health); None when no file is broken. ``known`` gives
    the needs of a workflow that need not be assessed again (None: every workflow is).
    ``record``, when given, is told what each workflow assessed here asked of the
    inventory, with its path, as soon as it is assessed
    (:mod:`watchman.stages.needs_lookups`).
    """
    assessed: list[Assessment] = []
    failures: list[ReaderFailure] = []
    keys: KeyMemo = {}
    for stored in scan.workflows:
        watched = stored.watched
        needs = None
        error = stored.error
        if stored.parsed is not None and known is not None:
            needs = known(str(watched.path), watched.sha256)
        if stored.parsed is not None and needs is None:
            recorded = RecordedLookups(inventory) if record is not None else None
            try:
                needs = assess_workflow(
                    stored.parsed,
                    inventory if recorded is None else recorded,
                    installed.types,
                    installed.choices,
                    broken,
                    keys,
                )
                if recorded is not None and record is not None:
                    record(str(watched.path), recorded.dependence())
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
                parsed=stored.parsed if needs is not None else None,
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
