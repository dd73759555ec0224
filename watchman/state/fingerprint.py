"""The cycle's fingerprint: a small digest of its inputs, so an unchanged cycle stops early.

A cycle's report follows from its inputs: the model folders, the watched workflows, the
node packs and ComfyUI's own node files, the extra_model_paths files, the packages beside
ComfyUI that hold known sources, the state files the cycle reads back (resolution cache,
node map), the settings and the run's options, and the clock (a resolution cached until a
given time, a full re-stat due on a given day). The fingerprint keeps, in
``state/cycle_fingerprint.json``:

* the paths whose stamps stand for those inputs (every folder walked, every workflow file,
  every pack's Python, TOML and JSON file, ...), and one digest of their stamps;
* a digest of the settings, options and tool version;
* the earliest moment something time-based falls due;
* the outcome (counts and report summary) of the cycle that wrote it.

:func:`check` stats those paths again (one ``stat`` each, nothing read) and says why the
cycle must run, or None when nothing changed: then the cycle records the previous outcome
and stops, without loading the big caches. Stamps are taken before the stages read what
they stand for, so a change made while a cycle runs is seen by the next one. A stamp whose
mtime lies within the file system's timestamp granularity of the moment it was taken is
"racy" (git's rule): the next cycle runs in full.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from watchman.clocks import RACY_NANOSECONDS
from watchman.state.json_codec import dumps_json, loads_json
from watchman.state.json_state import read_json_state
from watchman.state.safe_files import atomic_write_bytes

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MISSING: tuple[int, ...] = (-1,)


def stamp(path: str) -> tuple[int, ...]:
    """Return what stands for the content of ``path``: device, inode, size, mtime and
    ctime in nanoseconds; :data:`MISSING` when it cannot be stat'ed."""
    try:
        stat = os.stat(path)
    except OSError:
        return MISSING
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def is_racy(stamped: tuple[int, ...], taken_at_ns: int) -> bool:
    return len(stamped) == 5 and stamped[3] >= taken_at_ns - RACY_NANOSECONDS


@dataclass
class Stamps:
    """Paths with their kind ("d" folder, "f" file) and stamp, in the order taken, and
    whether any stamp is racy."""

    paths: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    values: list[tuple[int, ...]] = field(default_factory=list)
    racy: bool = False

    def add(self, path: str, kind: str, value: tuple[int, ...], racy: bool = False) -> None:
        self.paths.append(path)
        self.kinds.append(kind)
        self.values.append(value)
        self.racy = self.racy or racy

    def take(
        self, paths: Iterable[str], kind: str, now_ns: int, racy_counts: bool = True
    ) -> Stamps:
        """Stat each path now and add its stamp (``racy_counts`` False for the cycle's own
        state files, which nothing else writes under the run lock); returns self."""
        for path in paths:
            value = folder_stamp(path) if kind == "d" else stamp(path)
            self.add(path, kind, value, racy_counts and is_racy(value, now_ns))
        return self

    def digest(self) -> str:
        return digest_of(self.paths, self.values)


def digest_of(paths: Sequence[str], values: Sequence[tuple[int, ...]]) -> str:
    # One pass over joined text rather than two hash updates per path: a fresh process
    # checks ~25,000 stamps at 100k models.
    if len(paths) != len(values):
        raise ValueError("paths and stamps differ in length")
    digest = hashlib.sha256("\0".join(paths).encode("utf-8", "surrogatepass"))
    try:
        # orjson writes the ~25,000 stamps in ~5 ms where repr took ~30 (issue 14).
        digest.update(orjson.dumps(values))
    except orjson.JSONEncodeError:
        digest.update(repr(values).encode())  # a number beyond 64 bits (an exotic inode)
    return digest.hexdigest()


def folder_stamp(path: str) -> tuple[int, ...]:
    """Return a folder's stamp: as :func:`stamp` with the size left out (it means nothing
    portable for a folder, and listings do not keep it)."""
    value = stamp(path)
    return value if value == MISSING else (value[0], value[1], 0, value[3], value[4])


def settings_digest(*parts: Any) -> str:
    """Return a digest of the settings, options and versions a cycle depends on (each
    part's ``repr``; settings as their JSON dump, secrets included only as a digest)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def secrets_digest(settings: Any) -> str:
    """Return one digest of every secret setting's value (tokens, API keys), which the
    settings' JSON dump masks: a new token can change what the backends answer. Only this
    digest of a digest is kept; the values themselves never leave memory."""
    from pydantic import BaseModel, SecretStr

    digest = hashlib.sha256()
    pending: list[Any] = [settings]
    while pending:
        value = pending.pop()
        if isinstance(value, SecretStr):
            digest.update(value.get_secret_value().encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        elif isinstance(value, BaseModel):
            pending.extend(getattr(value, name) for name in sorted(type(value).model_fields))
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        else:
            digest.update(b"-")
    return digest.hexdigest()


@dataclass(frozen=True)
class Saved:
    """What the last full cycle left: its inputs' stamps and its outcome."""

    paths: tuple[str, ...]
    kinds: str  # "d" for a folder, "f" for a file, one per path
    digest: str
    racy: bool
    settings: str
    due_at_ns: int
    outcome: dict[str, Any]


def load(path: Path) -> Saved | None:
    """Return the saved fingerprint, or None when absent or unusable (then set aside)."""
    document = read_json_state(path, SCHEMA_VERSION)
    if document is None:
        return None
    try:
        paths = tuple(str(item) for item in document["paths"])
        kinds = str(document["kinds"])
        if len(kinds) != len(paths):
            raise ValueError("kinds and paths differ in length")
        return Saved(
            paths=paths,
            kinds=kinds,
            digest=str(document["digest"]),
            racy=bool(document["racy"]),
            settings=str(document["settings"]),
            due_at_ns=int(document["due_at_ns"]),
            outcome=dict(document["outcome"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        logger.info("The cycle fingerprint is unusable (%s); running the cycle in full.", error)
        return None


def check(saved: Saved | None, settings: str, now_ns: int) -> str | None:
    """Return why the cycle must run in full, or None when none of its inputs changed.

    Takes the saved fingerprint, the digest of this run's settings and options, and the
    current time. Stats every saved path; reads nothing else.
    """
    if saved is None:
        return "no fingerprint of an earlier cycle"
    if saved.racy:
        return "an input changed too close to the last cycle to trust its stamp"
    if saved.settings != settings:
        return "the settings, options or tool version changed"
    if now_ns >= saved.due_at_ns:
        return "something time-based fell due (cache expiry or full re-stat)"
    values = [
        folder_stamp(path) if kind == "d" else stamp(path)
        for path, kind in zip(saved.paths, saved.kinds, strict=True)
    ]
    if digest_of(saved.paths, values) != saved.digest:
        return "an input changed"
    return None


def save(
    path: Path,
    stamps: Stamps,
    settings: str,
    due_at_ns: int,
    outcome: dict[str, Any],
) -> None:
    """Write the fingerprint of a cycle that ran in full.

    Raises:
        OSError: the state folder is not writable.
    """
    document = {
        "schema_version": SCHEMA_VERSION,
        "digest": stamps.digest(),
        "racy": stamps.racy,
        "settings": settings,
        "due_at_ns": due_at_ns,
        "outcome": outcome,
        "kinds": "".join(stamps.kinds),
        "paths": stamps.paths,
    }
    atomic_write_bytes(path, dumps_json(document))


def forget(path: Path) -> None:
    """Remove the fingerprint, so the next cycle runs in full (after a failed cycle)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("Cannot remove %s (%s); the next cycle may stop early.", path, error)


def earliest_expiry_ns(resolution_cache: Path, now_ns: int) -> int | None:
    """Return when the first cached resolution still valid at ``now_ns`` expires (ns since
    the epoch), or None when none is. An entry expired already is not one a workflow
    needs: the resolver would have asked again and stored a fresh one."""
    # Read here without judging the file: the resolver owns it (and sets it aside if bad).
    try:
        document = loads_json(resolution_cache.read_bytes())
    except (OSError, ValueError):
        return None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return None
    earliest: int | None = None
    for entry in entries.values():
        expires = entry.get("expires_at") if isinstance(entry, dict) else None
        if not isinstance(expires, str):
            continue
        try:
            moment = datetime.fromisoformat(expires)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        at_ns = int(moment.timestamp() * 1e9)
        if at_ns > now_ns and (earliest is None or at_ns < earliest):
            earliest = at_ns
    return earliest
