"""The report's index, ``state/report_index.json``: what the next cycle and ``status``
need of the report without reading it (see :mod:`watchman.reporting.previous` for how the
report stage uses it). Light on purpose: ``status`` imports it, and must not pay for the
report builder, the resolver and the HTTP stack.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchman.state.json_codec import dumps_json, loads_json
from watchman.state.safe_files import atomic_write_bytes, file_sha256

logger = logging.getLogger(__name__)

REPORT_SCHEMA_VERSION = 1
"""The master status report's ``schema_version``."""
INDEX_SCHEMA_VERSION = 1
INDEX_FILE_NAME = "report_index.json"
MAX_INDEX_BYTES = 64 * 1024 * 1024
"""An index larger than this was not written here: it is not read (the report is)."""


def index_path(state_dir: Path) -> Path:
    """Where the report's index is: ``state/report_index.json``."""
    return state_dir / INDEX_FILE_NAME


@dataclass(frozen=True)
class ReportIndex:
    """The contents of ``state/report_index.json`` (see the module's docstring)."""

    json_sha256: str
    markdown_sha256: str | None
    cycle_id: str
    generated_at: str | None
    stable_digest: str
    workflows: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The report's "summary" object, so ``status`` need not read the report itself (an
    # index written before it was kept has none).
    summary: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": INDEX_SCHEMA_VERSION,
            "report_schema_version": REPORT_SCHEMA_VERSION,
            "json_sha256": self.json_sha256,
            "markdown_sha256": self.markdown_sha256,
            "cycle_id": self.cycle_id,
            "generated_at": self.generated_at,
            "stable_digest": self.stable_digest,
            "workflows": [[path, sha, status] for path, (sha, status) in self.workflows.items()],
            "summary": dict(self.summary) if self.summary is not None else None,
        }

    @classmethod
    def from_json(cls, document: object) -> ReportIndex | None:
        """Read an index written by :meth:`to_json`; None when anything is not as written
        (another layout, a damaged file)."""
        if not isinstance(document, dict):
            return None
        if (
            document.get("schema_version") != INDEX_SCHEMA_VERSION
            or document.get("report_schema_version") != REPORT_SCHEMA_VERSION
        ):
            return None
        texts = [document.get(key) for key in ("json_sha256", "cycle_id", "stable_digest")]
        markdown, when = document.get("markdown_sha256"), document.get("generated_at")
        rows = document.get("workflows")
        summary = document.get("summary")
        if not isinstance(summary, (dict, type(None))):
            return None
        if (
            not all(isinstance(text, str) for text in texts)
            or not isinstance(markdown, (str, type(None)))
            or not isinstance(when, (str, type(None)))
            or not isinstance(rows, list)
        ):
            return None
        workflows: dict[str, tuple[str, str]] = {}
        for row in rows:
            if not (
                isinstance(row, list) and len(row) == 3 and all(isinstance(t, str) for t in row)
            ):
                return None
            workflows[row[0]] = (row[1], row[2])
        return cls(
            json_sha256=str(texts[0]),
            markdown_sha256=markdown,
            cycle_id=str(texts[1]),
            generated_at=when,
            stable_digest=str(texts[2]),
            workflows=workflows,
            summary=summary,
        )


def save_index(path: Path, index: ReportIndex) -> None:
    """Write the index; a failure is logged, never raised (the next cycle reads the report
    instead)."""
    try:
        atomic_write_bytes(path, dumps_json(index.to_json()))
    except OSError as error:
        logger.warning(
            "Cannot write the report's index %s (%s); the next cycle reads the report itself.",
            path,
            error,
        )


def summary_of_report(json_path: Path, index: Path) -> Mapping[str, Any] | None:
    """The ``summary`` of the report at ``json_path`` as its index keeps it, when the index
    at ``index`` describes that very file (its sha256, the file read in blocks) and has
    one; else None (read the report). A 5,000-workflow report is 17 MB: decoding it whole
    for ``status`` cost ~130 MiB. Never raises."""
    known = read_index(index)
    if known is None or known.summary is None:
        return None
    if file_sha256(json_path) != known.json_sha256:
        return None
    return known.summary


def read_index(path: Path) -> ReportIndex | None:
    """The index at ``path``; None when absent, too large, unreadable or not as written."""
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_INDEX_BYTES:
                return None
            data = handle.read()
    except OSError:
        return None
    try:
        return ReportIndex.from_json(loads_json(data))
    except (ValueError, RecursionError):
        logger.info("The report's index %s is not readable; reading the report.", path)
        return None
