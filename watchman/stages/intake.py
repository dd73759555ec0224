"""Intake: which workflows are new or changed, and the append-only intake log.

A workflow is identified by its path; its content by sha256. A workflow whose sha256 is
new or changed is appended to ``state/intake_log.jsonl``; an unchanged one is not. What
was seen last is not a separate file: it is the intake log itself (the newest line per
path), so nothing recorded can disagree with it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from watchman.state.safe_files import append_jsonl, read_jsonl
from watchman.state.structured_log import utc_now_iso

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
WORKFLOW_SUFFIXES = (".json",)
IMAGE_SUFFIXES = (".png", ".webp")

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


def discover_workflow_files(folder: Path, include_images: bool = True) -> Iterator[Path]:
    """Yield workflow files under ``folder`` recursively, sorted, skipping hidden entries.

    Symlinked folders are followed, but a folder already entered (by device and inode) is
    not entered again, so a link loop cannot multiply the workflows. A link that loops on
    itself is yielded when it has a workflow's name (reading it then fails: one unreadable
    entry) and skipped with a warning otherwise; the entries after it are still listed. A
    folder that cannot be read is logged and skipped.
    """
    suffixes = WORKFLOW_SUFFIXES + (IMAGE_SUFFIXES if include_images else ())
    stack = [folder]
    entered: set[tuple[int, int]] = set()
    found: list[Path] = []
    while stack:
        current = stack.pop()
        try:
            identity = os.stat(current)
        except OSError as error:
            logger.warning("Cannot read watched folder %s: %s", current, error)
            continue
        if (identity.st_dev, identity.st_ino) in entered:
            logger.debug("Not entering %s again: a link leads back to it", current)
            continue
        entered.add((identity.st_dev, identity.st_ino))
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    wanted = entry.name.lower().endswith(suffixes)
                    try:
                        is_dir = entry.is_dir()
                        is_file = not is_dir and entry.is_file()
                    except OSError as error:
                        # A link that loops or cannot be followed costs this one entry (an
                        # unreadable workflow when it has a workflow's name), never the
                        # rest of the folder's listing.
                        logger.warning("Cannot follow %s: %s", entry.path, error)
                        if wanted:
                            found.append(Path(entry.path))
                        continue
                    if is_dir:
                        stack.append(Path(entry.path))
                    elif is_file and wanted:
                        found.append(Path(entry.path))
        except OSError as error:
            logger.warning("Cannot read watched folder %s: %s", current, error)
    yield from sorted(found)


def sha256_of_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def last_seen_hashes(log_path: Path) -> dict[str, str]:
    """Return path -> sha256 of the newest intake line per path."""
    seen: dict[str, str] = {}
    for record in read_jsonl(log_path):
        path, sha = record.get("path"), record.get("sha256")
        if isinstance(path, str) and isinstance(sha, str):
            seen[path] = sha
    return seen


def detect_changes(
    workflows: Iterable[WatchedWorkflow], previous: dict[str, str], now: str | None = None
) -> tuple[IntakeEntry, ...]:
    """Return the intake entries for workflows that are new or whose hash changed."""
    now = now or utc_now_iso()
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
    """Append each entry to the intake log (flushed and fsynced per line).

    Raises:
        OSError: the log cannot be written; lines written before stay.
    """
    for entry in entries:
        append_jsonl(log_path, entry.to_json())


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
