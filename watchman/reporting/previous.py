"""What a cycle needs of the report before it, without decoding it.

The report stage needs three things of the previous report: when it was made (the
downloads since), each workflow's sha256 and status (the changes since) and whether the
new report differs from it. Decoding the 17 MB JSON of a 5,000-workflow report for that
cost ~35 MiB at the cycle's peak. So each written report leaves a small index,
``state/report_index.json``: those things, the digest of its stable part, and the sha256
of the JSON and Markdown files it describes. The index is believed only while the
report's JSON hashes to what it says (a report replaced by hand, restored from a backup,
or written by a version without the index is read once, in pieces as
:mod:`watchman.reporting.pieces` reads it, or decoded whole when it is not laid out as
written here, and the index is made again); it is written after the report pair is in
place, so a kill between the two leaves an index that does not match, never one that
lies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchman.reporting.changes import Before, add_workflow, time_of
from watchman.reporting.pieces import read_in_pieces
from watchman.reporting.report import WorkflowEntry
from watchman.reporting.report_index import (
    REPORT_SCHEMA_VERSION,
    ReportIndex,
    read_index,
)
from watchman.reporting.stream import stable_digest
from watchman.state.json_codec import loads_json
from watchman.state.json_state import read_json_state
from watchman.state.safe_files import file_sha256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviousReport:
    """The report before this cycle's, as far as the report stage needs it.

    ``generated_at``: when it was made, whatever its layout (None: no report, or it does
    not say); the downloads since are listed from it. ``before``: its workflows for the
    changes (None: no report of this layout). ``stable_digest``: its stable part's
    digest (None: nothing to compare with). ``markdown_current``: the Markdown beside it
    is of its cycle. ``index``: the index as it should be for the files on disk (None:
    the one on disk already is, or there is no report to describe).
    """

    generated_at: str | None = None
    before: Before | None = None
    stable_digest: str | None = None
    markdown_current: bool = False
    index: ReportIndex | None = None


NO_REPORT = PreviousReport()


def index_of_report(
    json_sha256: str,
    markdown_sha256: str,
    stable: str,
    cycle_id: str,
    generated_at: str,
    entries: tuple[WorkflowEntry, ...],
    summary: Mapping[str, Any] | None = None,
) -> ReportIndex:
    """The index of a report just written: its files' sha256, its stable digest, its
    workflows as its JSON gives them, and its ``summary`` object."""
    return ReportIndex(
        json_sha256=json_sha256,
        markdown_sha256=markdown_sha256,
        cycle_id=cycle_id,
        generated_at=generated_at,
        stable_digest=stable,
        workflows={entry.path: (str(entry.sha256), str(entry.status)) for entry in entries},
        summary=summary,
    )


def read_previous_report(json_path: Path, markdown_path: Path, index: Path) -> PreviousReport:
    """What the report stage needs of the report at ``json_path`` (and the Markdown at
    ``markdown_path``): from the index at ``index`` while it describes that JSON, else from
    the JSON itself. A report of another layout, or damaged, gives what the old reading
    gave: its ``generated_at`` when it has one, and it is set aside (``read_json_state``).
    Never raises."""
    known = read_index(index)
    if known is not None and file_sha256(json_path) == known.json_sha256:
        markdown = known.markdown_sha256 is not None and (
            file_sha256(markdown_path) == known.markdown_sha256
        )
        return PreviousReport(
            generated_at=known.generated_at,
            before=Before(known.generated_at, known.workflows),
            stable_digest=known.stable_digest,
            markdown_current=markdown or _markdown_is_of_cycle(markdown_path, known.cycle_id),
        )
    return _read_report(json_path, markdown_path)


def _read_report(json_path: Path, markdown_path: Path) -> PreviousReport:
    """Without an index: the JSON read in pieces when it is laid out as this tool writes
    it, else decoded whole, as before."""
    workflows: dict[str, tuple[str, str]] = {}

    def on_item(key: str, item: Any) -> None:
        if key == "workflows":
            add_workflow(workflows, item)

    pieces = read_in_pieces(json_path, on_item)
    if pieces is None:
        return _read_whole(json_path, markdown_path)
    values = pieces.values
    since = values.get("generated_at")
    generated_at = since if isinstance(since, str) else None
    if values.get("schema_version") != REPORT_SCHEMA_VERSION:
        # Sets a report of another layout aside, saying why (as the whole decode does).
        read_json_state(json_path, REPORT_SCHEMA_VERSION)
        return PreviousReport(generated_at=generated_at)
    return _previous(
        markdown_path,
        generated_at,
        Before(time_of(since), workflows),
        str(values.get("cycle_id")),
        pieces.stable_digest,
        pieces.sha256,
        _summary(values.get("summary")),
    )


def _read_whole(json_path: Path, markdown_path: Path) -> PreviousReport:
    """The old way: the whole JSON decoded, once."""
    try:
        data: bytes | None = json_path.read_bytes()
    except OSError:
        data = None
    try:
        unjudged = loads_json(data) if data is not None else None
    except (ValueError, RecursionError):
        unjudged = None
    since = unjudged.get("generated_at") if isinstance(unjudged, dict) else None
    generated_at = since if isinstance(since, str) else None
    if isinstance(unjudged, dict) and unjudged.get("schema_version") == REPORT_SCHEMA_VERSION:
        document: dict[str, Any] | None = unjudged
    else:
        del unjudged
        # Sets a damaged report or one of another layout aside, saying why.
        document = read_json_state(json_path, REPORT_SCHEMA_VERSION)
    if document is None or data is None:
        return PreviousReport(generated_at=generated_at)
    json_sha256 = hashlib.sha256(data).hexdigest()
    del data
    before = Before.of_document(document)
    cycle_id = str(document.get("cycle_id"))
    summary = _summary(document.get("summary"))
    try:
        digest: str | None = stable_digest(document)
    except (TypeError, ValueError, RecursionError):
        digest = None  # read, but not to be written back (too deep): the report is rewritten
    del document
    return _previous(markdown_path, generated_at, before, cycle_id, digest, json_sha256, summary)


def _previous(
    markdown_path: Path,
    generated_at: str | None,
    before: Before,
    cycle_id: str,
    digest: str | None,
    json_sha256: str,
    summary: Mapping[str, Any] | None,
) -> PreviousReport:
    current = _markdown_is_of_cycle(markdown_path, cycle_id)
    markdown_sha256 = file_sha256(markdown_path) if current else None
    # Kept if this cycle's report turns out the same, so the next cycle need not read
    # it again: the Markdown is described only when it is of the JSON's cycle, and a
    # report whose time is not text as written here gets no index.
    index = (
        ReportIndex(
            json_sha256=json_sha256,
            markdown_sha256=markdown_sha256,
            cycle_id=cycle_id,
            generated_at=generated_at,
            stable_digest=digest,
            workflows=before.workflows,
            summary=summary,
        )
        if digest is not None and generated_at and generated_at == before.generated_at
        else None
    )
    return PreviousReport(generated_at, before, digest, current, index)


def _summary(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _markdown_is_of_cycle(path: Path, cycle_id: str) -> bool:
    try:
        return f"(cycle {cycle_id})" in path.read_text("utf-8", errors="replace")
    except OSError:
        return False
