"""Needs kept between cycles (``state/needs_cache.jsonl``): a workflow whose bytes and
every other input of its assessment are as they were is not assessed again.

A cycle after one workflow was edited used to assess all 5,000 (47,000 inventory
lookups). :func:`~watchman.stages.needs.assess_workflow` is a pure function of

* the parse, which follows from the workflow's bytes (its sha256) and the reader with
  its loader table (the parse cache's version, :func:`parser_version`);
* the model inventory: every file (the model cache document, whose bytes the caches
  stage has just made equal to the inventory), the roots, the subfolders, the model
  folders, the roots on disks that ignore case and the path separator;
* the installed node types and where they came from;
* the broken files and why each is broken;
* the code of the rules themselves (every file of the package, by content).

:func:`context_digest` hashes all of those but the bytes and the model files into one
digest, written as the cache's first line (a cache of another digest is not read at all),
and gives the model cache's sha256 beside it. Each further line is
``<path as JSON> TAB <sha256> TAB <models> TAB <answers> TAB <asked> TAB <needs>``: the
workflow's bytes, the model cache's sha256 when the line was made or last confirmed,
the digest of the inventory's answers about the folders the assessment read whole and
what it asked of the inventory (:mod:`watchman.stages.needs_lookups`: the file names it
looked up, those folders), then the needs packed as positional arrays
(:mod:`watchman.stages.packed_needs`; a need's reference as its position in the
workflow's parse, so it comes back as that very object, neither decoded nor kept twice).
A line is used only for the very bytes it was made from. Under other model files, only
when it was made under the model cache this cycle found, no file of a name it looked up
was added, removed or changed since (the directory listings say which), and its folders'
answers are the same: one model added re-assesses the workflows that looked its name up,
not all 5,000. With a live ComfyUI server, the file lists and widget layouts it offers
are inputs too: the digest of its answer's content (``InstalledNodes.content_digest``:
the node types, lists and layouts, not a default drawn anew on each request) goes into
the context; an answer without one reuses nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

import watchman
from watchman.comfy.input_files import InputFileReference
from watchman.comfy.workflow_model import ModelReference
from watchman.stages import needs as needs_stage
from watchman.stages.cache_failures import CacheFailures, write_cache
from watchman.stages.input_needs import InputFolder
from watchman.stages.inventory.model_health import ModelHealth, broken_lookup
from watchman.stages.inventory.models import ModelInventory
from watchman.stages.needs import InstalledNodes, NeedsResult, WorkflowNeeds
from watchman.stages.needs_lookups import Answers, Dependence, ModelChanges
from watchman.stages.packed_needs import pack_model_file, pack_needs, unpack_needs
from watchman.stages.value_needs import ValidatesLookup
from watchman.stages.workflow_entries import source_digest
from watchman.stages.workflows import WorkflowScan
from watchman.state.json_codec import dumps_line, loads_json
from watchman.state.path_lines import read_path_lines, write_path_lines

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4
FILE_NAME = "needs_cache.jsonl"
"""The cache's name in the state folder."""
_CODE_DIGEST: list[str] = []  # the package's code does not change under a running process


def code_digest() -> str:
    """The sha256 of every file of the installed package (modules and their data, not
    the bytecode caches), by path and content: any change of the rules (a new version,
    an edit, a new table) makes every assessment new. Raises OSError when a file cannot
    be read."""
    if not _CODE_DIGEST:
        _CODE_DIGEST.append(source_digest(Path(watchman.__file__).parent, "*"))
    return _CODE_DIGEST[0]


@dataclass(frozen=True)
class NeedsContext:
    """What the needs cache's lines were made under: ``inputs``, the digest of every input
    of an assessment but the workflow's bytes and the model files (the cache's header);
    ``models``, the sha256 of the model cache (the model files); and ``changes``, how the
    model files changed in this cycle (None: unknown, or they did not)."""

    inputs: str
    models: str
    changes: ModelChanges | None = None


def context_digest(
    inventory: ModelInventory,
    model_cache: Path,
    installed: InstalledNodes,
    health: ModelHealth,
    parser_version: str,
    changes: ModelChanges | None = None,
    inputs: InputFolder | None = None,
) -> NeedsContext | None:
    """The digests every input of an assessment but the workflow's bytes goes into (see
    the module's docstring), or None when the needs cannot be reused (a live server's
    lists without the digest of its answer, or the model cache or the package's code
    cannot be read).

    Takes the inventory, the model cache file the caches stage wrote or kept for it, the
    installed nodes, the model health, the parse cache's version and how the model files
    changed in this cycle (None: unknown, or they did not), and ComfyUI's input folder
    (None: not checked).
    """
    if installed.choices is not None and not installed.content_digest:
        return None
    digest = hashlib.sha256()

    def add(*parts: Any) -> None:
        digest.update(repr(parts).encode("utf-8", "surrogatepass") + b"\n")

    try:
        add(SCHEMA_VERSION, code_digest(), parser_version)
        models = _file_sha256(model_cache)
    except OSError as error:
        logger.debug("Needs are assessed anew: %s", error)
        return None
    add(inventory.comfyui_root, inventory.separator, inventory.roots_digest())
    add(sorted(inventory.case_blind_roots))
    for folder in sorted(inventory.directories):
        add(folder, sorted(inventory.directories[folder]))
    for folder in sorted(inventory.folder_entries):
        add(folder, [pack_model_file(entry) for entry in inventory.folder_entries[folder]])
    add(installed.source, sorted(installed.types), installed.content_digest)
    add(sorted((path, b.reason, b.detail, b.size) for path, b in health.broken.items()))
    add(None if inputs is None else (str(inputs.path), inputs.digest))
    return NeedsContext(digest.hexdigest(), models, changes)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


_DAMAGE = (ValueError, TypeError, KeyError, IndexError)
"""What a damaged line raises when decoded or unpacked."""


def assess_with_cache(
    cache_path: Path,
    scan: WorkflowScan,
    inventory: ModelInventory,
    installed: InstalledNodes,
    health: ModelHealth,
    context: NeedsContext | None,
    inputs: InputFolder | None = None,
    failures: CacheFailures | None = None,
    validates: ValidatesLookup | None = None,
) -> NeedsResult:
    """The needs stage with the cache at ``cache_path``: a workflow whose line was made
    for its sha256 under the same ``context`` (:func:`context_digest`; None: nothing is
    reused or saved) keeps its needs, and so does one whose line was made under the model
    files this cycle changed (``context.changes``) when no file of a name it looked up
    changed, nor a folder it read whole; the others are assessed; the cache is rewritten
    when a line changed. A damaged line costs its workflow an assessment. ``failures``:
    where a cache that cannot be written is said (``stages/cache_failures``; the old
    file, whole, stays). ``validates``: which node types validate their own inputs
    (:func:`watchman.stages.needs.assess_all`).

    Raises:
        OSError: the cache cannot be written and ``failures`` is None.
    """
    lines = load_lines(cache_path, context.inputs) if context is not None else {}
    models = context.models.encode("ascii") if context is not None else b""
    changes = context.changes if context is not None else None
    kept: dict[str, bytes] = {}
    # Outlines: the references a kept line's needs point at, without unpacking any nodes.
    parses = {str(stored.watched.path): stored.outline for stored in scan.workflows}
    answers = Answers(inventory)

    def known(path: str, sha256: str) -> WorkflowNeeds | None:
        line = lines.get(path)
        parsed = parses.get(path)
        if line is None or parsed is None:
            return None
        fields = line.rstrip(b"\n").split(b"\t")
        if len(fields) != 6 or fields[1] != sha256.encode("ascii", "replace"):
            return None
        try:
            if fields[2] != models:
                # Made under the model files before this cycle's change: still true when
                # no file of a name it looked up changed, nor a folder it read whole.
                if changes is None or fields[2] != changes.before.encode("ascii"):
                    return None
                asked = Dependence.from_json(loads_json(fields[4]))
                if not asked.untouched_by(changes) or (
                    answers.digest(asked).encode("ascii") != fields[3]
                ):
                    return None
                fields[2] = models
                line = b"\t".join(fields) + b"\n"
            needs = unpack_needs(loads_json(fields[5]), parsed.model_refs, parsed.input_files)
        except _DAMAGE as damage:
            logger.info("Cached needs of %s are unusable (%s); assessing again.", path, damage)
            return None
        kept[path] = line
        return needs

    asked: dict[str, bytes] = {}

    def record(path: str, dependence: Dependence) -> None:
        # Encoded at once, one bytes object each: 5,000 dependences kept as objects to
        # the end of the stage added 7 MiB to its peak.
        asked[path] = made_under("", dependence, answers)

    # Through the module: the stage's one entry point, as tests replace it.
    result = needs_stage.assess_all(
        scan,
        inventory,
        installed,
        broken_lookup(health),
        known,
        record if context is not None else None,
        inputs=inputs,
        validates=validates,
    )
    if context is None:
        return result
    entries = {}
    under = context.models.encode("ascii")
    for assessment in result.workflows:
        path = str(assessment.path)
        if assessment.needs is None:
            continue
        line = kept.get(path)
        if line is None:
            line = encode_line(
                path,
                assessment.sha256,
                assessment.needs,
                assessment.parsed.model_refs if assessment.parsed is not None else (),
                under + asked.get(path, _NOTHING_ASKED),
                assessment.parsed.input_files if assessment.parsed is not None else (),
            )
        entries[path] = line
    write_cache(
        failures,
        "needs cache",
        cache_path,
        lambda: save_lines(cache_path, context.inputs, entries, lines),
        False,
    )
    return result


def header(context: str) -> bytes:
    """The first line of a cache made under ``context`` (its inputs' digest)."""
    return orjson.dumps({"schema_version": SCHEMA_VERSION, "context": context}) + b"\n"


def made_under(models: str, dependence: Dependence, answers: Answers) -> bytes:
    """The middle of a line, ``<models> TAB <answers> TAB <asked>``: what its needs were
    made under (the model cache's sha256, the digest of ``answers`` about the folders
    ``dependence`` read whole and its bounds) and what the assessment asked."""
    digest = answers.digest(dependence)
    return b"\t".join(
        [models.encode("ascii"), digest.encode("ascii"), dumps_line(dependence.to_json())]
    )


_NOTHING_ASKED = b"\t\t" + dumps_line(Dependence().to_json())


def encode_line(
    path: str,
    sha256: str,
    needs: WorkflowNeeds,
    references: Sequence[ModelReference] = (),
    made: bytes = _NOTHING_ASKED,
    files: Sequence[InputFileReference] = (),
) -> bytes:
    """The cache line of one workflow's needs (newline included):
    ``<path> TAB <sha256> TAB <models> TAB <answers> TAB <asked> TAB <needs>``.
    ``references`` and ``files`` are its parse's, which a need names by position (see
    :func:`~watchman.stages.packed_needs.pack_needs`); ``made``: the middle three fields
    (:func:`made_under`; by default nothing, a line kept only under the very same model
    files, having asked nothing)."""
    return (
        b"\t".join(
            [
                dumps_line(path),
                sha256.encode("ascii", "replace"),
                made,
                dumps_line(pack_needs(needs, references, files)),
            ]
        )
        + b"\n"
    )


def load_lines(path: Path, context: str) -> dict[str, bytes]:
    """The cache's lines by workflow path, undecoded; empty when the file is absent,
    unreadable or of another context."""
    return read_path_lines(path, header(context), "the needs cache") or {}


def save_lines(
    path: Path, context: str, lines: Mapping[str, bytes], previous: Mapping[str, bytes]
) -> bool:
    """Write the cache when a line differs from ``previous`` (what was loaded under the
    same context); return True if written.

    Raises:
        OSError: the file cannot be written.
    """
    return write_path_lines(path, header(context), lines, previous)
