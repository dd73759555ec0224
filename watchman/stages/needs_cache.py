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

:func:`context_digest` hashes all of those but the bytes into one digest, written as
the cache's first line; each further line is ``<path as JSON> TAB <sha256> TAB <needs>``,
the needs packed as positional arrays (:func:`pack_needs`; a need's reference as its
position in the workflow's parse, so it comes back as that very object, neither decoded
nor kept twice). A cache of another digest is
not read at all; a line is used only for the very bytes it was made from. With a live
ComfyUI server the file lists it offers per loader input are an input too, and nothing is
reused (they are a question asked of the server, not data to digest).

Only the needs stage's own work is saved here: a change of any input above (one model
added) assesses everything again, as before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

import watchman
from watchman.comfy.model_key import ModelKey
from watchman.comfy.workflow_model import ModelReference
from watchman.stages import needs as needs_stage
from watchman.stages.inventory.model_health import ModelHealth, broken_lookup
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import InstalledNodes, NeedsResult, NodeNeed, WorkflowNeeds
from watchman.stages.needs_model import ModelNeed
from watchman.stages.workflow_cache import pack_reference, unpack_reference
from watchman.stages.workflows import WorkflowScan
from watchman.state.json_codec import dumps_line, loads_json
from watchman.state.path_lines import read_path_lines, write_path_lines

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "needs_cache.jsonl"
"""The cache's name in the state folder."""
_CODE_DIGEST: list[str] = []  # the package's code does not change under a running process


def code_digest() -> str:
    """The sha256 of every file of the installed package (modules and their data, not
    the bytecode caches), by path and content: any change of the rules (a new version,
    an edit, a new table) makes every assessment new. Raises OSError when a file cannot
    be read."""
    if not _CODE_DIGEST:
        package = Path(watchman.__file__).parent
        digest = hashlib.sha256()
        files = (p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for path in sorted(files):
            digest.update(str(path.relative_to(package)).encode("utf-8", "surrogatepass"))
            digest.update(b"\0" + path.read_bytes() + b"\0")
        _CODE_DIGEST.append(digest.hexdigest())
    return _CODE_DIGEST[0]


def context_digest(
    inventory: ModelInventory,
    model_cache: Path,
    installed: InstalledNodes,
    health: ModelHealth,
    parser_version: str,
) -> str | None:
    """The digest of every input of an assessment but the workflow's bytes (see the
    module's docstring), or None when the needs cannot be reused (a live server's file
    lists are an input, or the model cache or the package's code cannot be read).

    Takes the inventory, the model cache file the caches stage wrote or kept for it, the
    installed nodes, the model health and the parse cache's version.
    """
    if installed.choices is not None:
        return None
    digest = hashlib.sha256()

    def add(*parts: Any) -> None:
        digest.update(repr(parts).encode("utf-8", "surrogatepass") + b"\n")

    try:
        add(SCHEMA_VERSION, code_digest(), parser_version)
        add(_file_sha256(model_cache))
    except OSError as error:
        logger.debug("Needs are assessed anew: %s", error)
        return None
    add(inventory.comfyui_root, inventory.separator, inventory.roots_digest())
    add(sorted(inventory.case_blind_roots))
    for folder in sorted(inventory.directories):
        add(folder, sorted(inventory.directories[folder]))
    for folder in sorted(inventory.folder_entries):
        add(folder, [_file(entry) for entry in inventory.folder_entries[folder]])
    add(installed.source, sorted(installed.types))
    add(sorted((path, b.reason, b.detail, b.size) for path, b in health.broken.items()))
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def assess_with_cache(
    cache_path: Path,
    scan: WorkflowScan,
    inventory: ModelInventory,
    installed: InstalledNodes,
    health: ModelHealth,
    context: str | None,
) -> NeedsResult:
    """The needs stage with the cache at ``cache_path``: a workflow whose line was made
    for its sha256 under the same ``context`` (:func:`context_digest`; None: nothing is
    reused or saved) keeps its needs, the others are assessed; the cache is rewritten
    when a line changed. A damaged line costs its workflow an assessment.

    Raises:
        OSError: the cache cannot be written.
    """
    lines = load_lines(cache_path, context) if context is not None else {}
    kept: dict[str, bytes] = {}
    parses = {str(stored.watched.path): stored.parsed for stored in scan.workflows}

    def known(path: str, sha256: str) -> WorkflowNeeds | None:
        line = lines.get(path)
        if line is None:
            return None
        _, _, rest = line.partition(b"\t")
        digest, _, packed = rest.partition(b"\t")
        if digest != sha256.encode("ascii", "replace"):
            return None
        parsed = parses.get(path)
        if parsed is None:
            return None
        try:
            needs = unpack_needs(loads_json(packed), parsed.model_refs)
        except (ValueError, TypeError, KeyError, IndexError) as damage:
            logger.info("Cached needs of %s are unusable (%s); assessing again.", path, damage)
            return None
        kept[path] = line
        return needs

    # Through the module: the stage's one entry point, as tests replace it.
    result = needs_stage.assess_all(scan, inventory, installed, broken_lookup(health), known)
    if context is None:
        return result
    entries = {
        str(assessment.path): kept.get(str(assessment.path))
        or encode_line(
            str(assessment.path),
            assessment.sha256,
            assessment.needs,
            assessment.parsed.model_refs if assessment.parsed is not None else (),
        )
        for assessment in result.workflows
        if assessment.needs is not None
    }
    save_lines(cache_path, context, entries, lines)
    return result


def header(context: str) -> bytes:
    """The first line of a cache made under ``context``."""
    return orjson.dumps({"schema_version": SCHEMA_VERSION, "context": context}) + b"\n"


def encode_line(
    path: str, sha256: str, needs: WorkflowNeeds, references: Sequence[ModelReference] = ()
) -> bytes:
    """The cache line of one workflow's needs (newline included); ``references`` are its
    parse's, which a need names by position (see :func:`pack_needs`)."""
    return (
        dumps_line(path)
        + b"\t"
        + sha256.encode("ascii", "replace")
        + b"\t"
        + dumps_line(pack_needs(needs, references))
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


def pack_needs(needs: WorkflowNeeds, references: Sequence[ModelReference] = ()) -> list[Any]:
    """Return ``needs`` as positional JSON-ready lists (see :func:`unpack_needs`). A need's
    reference that is one of ``references`` (the workflow's parse: nearly always) is
    written as its position there, any other in full."""
    positions = {id(reference): at for at, reference in enumerate(references)}

    def model_need(need: ModelNeed) -> list[Any]:
        at = positions.get(id(need.reference))
        return _pack_model_need(need, at if at is not None else pack_reference(need.reference))

    return [
        needs.status,
        [model_need(need) for need in needs.missing_models],
        [_pack_node_need(need) for need in needs.missing_nodes],
        [model_need(need) for need in needs.inactive_models],
        [_pack_node_need(need) for need in needs.inactive_nodes],
        list(needs.bypassed_node_ids),
        list(needs.muted_node_ids),
    ]


def unpack_needs(packed: Sequence[Any], references: Sequence[ModelReference] = ()) -> WorkflowNeeds:
    """Rebuild the needs :func:`pack_needs` packed with the same ``references``, equal to
    the original (a reference written by position is the very object of ``references``).

    Raises:
        ValueError, TypeError, KeyError, IndexError: the packed value has another shape.
    """
    status, models, nodes, inactive_models, inactive_nodes, bypassed, muted = packed
    if status not in ("ready", "missing_models", "missing_nodes", "uncertain"):
        raise ValueError(f"no workflow status {status!r}")
    return WorkflowNeeds(
        status=status,
        missing_models=tuple(_model_need(values, references) for values in models),
        missing_nodes=tuple(_node_need(values) for values in nodes),
        inactive_models=tuple(_model_need(values, references) for values in inactive_models),
        inactive_nodes=tuple(_node_need(values) for values in inactive_nodes),
        bypassed_node_ids=_texts(bypassed),
        muted_node_ids=_texts(muted),
    )


def _pack_model_need(need: ModelNeed, reference: int | list[Any]) -> list[Any]:
    return [
        reference,
        need.key.folder,
        need.key.path,
        need.state,
        [_file(model) for model in need.locations],
        need.pick,
        need.problem,
        need.rewrite,
    ]


def _model_need(values: Sequence[Any], references: Sequence[ModelReference]) -> ModelNeed:
    reference, folder, path, state, locations, pick, problem, rewrite = values
    if state not in ("missing", "misplaced", "misspelled", "broken", "nameless"):
        raise ValueError(f"no need state {state!r}")
    if type(reference) is int:
        if not 0 <= reference < len(references):
            raise IndexError("a need names a reference the parse does not have")
        named = references[reference]
    else:
        named = unpack_reference(reference)
    return ModelNeed(
        named,
        ModelKey(_text_or_none(folder), _text(path)),
        state,
        tuple(ModelFile(*location) for location in locations),
        pick=_text_or_none(pick),
        problem=_text_or_none(problem),
        rewrite=_text_or_none(rewrite),
    )


def _pack_node_need(need: NodeNeed) -> list[Any]:
    return [need.node_type, list(need.node_ids), need.cnr_id, need.aux_id]


def _node_need(values: Sequence[Any]) -> NodeNeed:
    node_type, node_ids, cnr_id, aux_id = values
    return NodeNeed(
        _text(node_type), _texts(node_ids), _text_or_none(cnr_id), _text_or_none(aux_id)
    )


def _file(model: ModelFile) -> list[Any]:
    return [model.folder, model.relative_path, model.root, model.size, model.mtime]


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("a text is not a string")
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)


def _texts(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(_text(value) for value in values)
