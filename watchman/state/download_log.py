"""``state/download_log.jsonl``: one JSON object a line per model file fetched.

When, from where (the URL the listing gave, never a signed redirect, whose query holds a
signature), where it went, its size and sha256, the workflows it unblocked and what
started it (``download`` by a person, ``auto`` in a cycle). Appended, flushed and fsynced;
a torn last line is skipped on read. The report's "downloaded since last report" section
is read from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from watchman.state.jsonl import append_jsonl, read_jsonl

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

    @classmethod
    def from_json(cls, line: Mapping[str, Any]) -> DownloadRecord | None:
        """Read one log line written by :meth:`to_json`; None when its shape is wrong."""
        size, workflows = line.get("size"), line.get("workflows")
        texts = [line.get(name) for name in ("time", "name", "url", "target", "sha256")]
        if (
            not all(isinstance(text, str) for text in texts)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or not isinstance(workflows, list)
        ):
            return None
        source, replaced = line.get("source"), line.get("replaced")
        return cls(
            time=str(line["time"]),
            name=str(line["name"]),
            url=str(line["url"]),
            source=source if isinstance(source, str) else None,
            target=str(line["target"]),
            size=size,
            sha256=str(line["sha256"]),
            workflows=tuple(str(item) for item in workflows),
            trigger=str(line.get("trigger") or ""),
            replaced=replaced if isinstance(replaced, str) else None,
        )


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


def read_downloads(path: Path, since: str | None = None) -> Iterator[DownloadRecord]:
    """Yield the logged downloads in order, only those at or after ``since`` (ISO 8601
    UTC, compared as text, which orders such times) when given. Lines of another schema
    version, without a time, or of another shape are skipped."""
    for line in read_jsonl(path):
        if line.get("schema_version") != LOG_SCHEMA_VERSION:
            continue
        record = DownloadRecord.from_json(line)
        if record is not None and (since is None or record.time >= since):
            yield record
