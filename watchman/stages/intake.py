"""Intake: which workflows are new or changed, and the append-only intake log.

A workflow is identified by its path; its content by sha256. A workflow whose sha256 is
new or changed is appended to ``state/intake_log.jsonl``; an unchanged one is not. What
was seen last is not a separate file: it is the intake log itself (the newest line per
path), so nothing recorded can disagree with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from watchman.state.jsonl import append_jsonl_lines, read_jsonl

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

IntakeEvent = Literal["new", "updated"]


@dataclass(frozen=True)
class WatchedWorkflow:
    """A workflow file found in a watched folder, with its identity and content hash."""

    path: Path
    source: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class IntakeEntry:
    """One line of the intake log."""

    time: str
    path: str
    source: str
    sha256: str
    event: IntakeEvent

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "time": self.time,
            "path": self.path,
            "source": self.source,
            "sha256": self.sha256,
            "event": self.event,
        }


def last_seen_hashes(log_path: Path) -> dict[str, str]:
    """Return path -> sha256 of the newest intake line per path."""
    seen: dict[str, str] = {}
    for record in read_jsonl(log_path):
        path, sha = record.get("path"), record.get("sha256")
        if isinstance(path, str) and isinstance(sha, str):
            seen[path] = sha
    return seen


def detect_changes(
    workflows: Iterable[WatchedWorkflow], previous: dict[str, str], now: str
) -> tuple[IntakeEntry, ...]:
    """Return the intake entries, stamped ``now`` (ISO 8601), for workflows that are new or
    whose hash changed since ``previous`` (path -> sha256)."""
    entries = []
    for workflow in workflows:
        key = str(workflow.path)
        before = previous.get(key)
        if before == workflow.sha256:
            continue
        entries.append(
            IntakeEntry(
                time=now,
                path=key,
                source=workflow.source,
                sha256=workflow.sha256,
                event="new" if before is None else "updated",
            )
        )
    return tuple(entries)


def record_intake(log_path: Path, entries: Sequence[IntakeEntry]) -> None:
    """Append the entries to the intake log: one write, one fsync per cycle.

    Raises:
        OSError: the log cannot be written; lines written before stay.
    """
    append_jsonl_lines(log_path, [entry.to_json() for entry in entries])


def list_intake(log_path: Path, limit: int | None = None) -> tuple[IntakeEntry, ...]:
    """Return the newest ``limit`` intake entries, newest first. Torn lines are skipped."""
    entries = []
    for record in read_jsonl(log_path):
        try:
            entries.append(
                IntakeEntry(
                    time=str(record["time"]),
                    path=str(record["path"]),
                    source=str(record.get("source", "")),
                    sha256=str(record["sha256"]),
                    event="updated" if record.get("event") == "updated" else "new",
                )
            )
        except KeyError:
            continue
    entries.reverse()
    return tuple(entries[:limit] if limit is not None else entries)


def take_intake(
    log_path: Path, workflows: Iterable[WatchedWorkflow], now: str
) -> tuple[IntakeEntry, ...]:
    """The intake stage: append the workflows that are new or changed since the log last
    saw them, stamped ``now``, and return those entries.

    Raises:
        OSError: the log cannot be written; lines written before stay.
    """
    changes = detect_changes(workflows, last_seen_hashes(log_path), now)
    record_intake(log_path, changes)
    return changes
