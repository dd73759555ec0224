"""``state/download_log.jsonl``: one JSON object a line per model file fetched.

When, from where (the URL the listing gave, never a signed redirect, whose query holds a
signature), where it went, its size and sha256, the workflows it unblocked and what
started it (``download`` by a person, ``auto`` in a cycle). Appended, flushed and fsynced;
a torn last line is skipped on read. The report's "downloaded since last report" section
is read from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from watchman.state.safe_files import append_jsonl, read_jsonl

LOG_SCHEMA_VERSION = 1
LOG_FILE_NAME = "download_log.jsonl"


@dataclass(frozen=True)
class DownloadRecord:
    """One file fetched: ``time`` (ISO 8601 UTC), the plan's ``name``, ``url``, ``source``
    backend, ``target`` path, ``size``, ``sha256``, ``workflows`` unblocked, ``trigger``
    and what broken file it ``replaced`` (None: it was missing)."""

    time: str
    name: str
    url: str
    source: str | None
    target: str
    size: int
    sha256: str
    workflows: tuple[str, ...]
    trigger: str
    replaced: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the record as one log line's object, the URL without its query."""
        return {
            "schema_version": LOG_SCHEMA_VERSION,
            "time": self.time,
            "name": self.name,
            "url": without_query(self.url),
            "source": self.source,
            "target": self.target,
            "size": self.size,
            "sha256": self.sha256,
            "workflows": list(self.workflows),
            "trigger": self.trigger,
            "replaced": self.replaced,
        }


def without_query(url: str) -> str:
    """Return ``url`` without query and fragment: signatures and tokens never go to disk."""
    try:
        return str(httpx.URL(url).copy_with(query=None, fragment=None))
    except httpx.InvalidURL:
        return url.split("?", 1)[0].split("#", 1)[0]


def log_path(state_dir: Path) -> Path:
    """Where the download log is: ``state/download_log.jsonl``."""
    return state_dir / LOG_FILE_NAME


def append_download(path: Path, record: DownloadRecord) -> None:
    """Append one record, flushed and fsynced.

    Raises:
        OSError: the log cannot be written.
    """
    append_jsonl(path, record.to_json())


def read_downloads(path: Path, since: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the logged downloads in order, only those at or after ``since`` (ISO 8601
    UTC, compared as text, which orders such times) when given. Lines of another schema
    version or without a time are skipped."""
    for record in read_jsonl(path):
        if record.get("schema_version") != LOG_SCHEMA_VERSION:
            continue
        when = record.get("time")
        if not isinstance(when, str):
            continue
        if since is None or when >= since:
            yield record
