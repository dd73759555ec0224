"""``state/cycle_state.json``: what each cycle did, the next run, and guard memory.

Written by the cycle (one record per cycle) and by the scheduler (next run, guard
bookkeeping such as the last suspend total seen). Read by ``comfywatchman status``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock

from watchman.state.json_state import read_json_state
from watchman.state.safe_files import atomic_write_json

SCHEMA_VERSION = 1
MAX_RECORDS = 100

Outcome = Literal["ran", "skipped", "failed", "interrupted"]


@dataclass(frozen=True)
class CycleRecord:
    """One cycle: when it started, how long it took, how it ended and what it counted."""

    cycle_id: str
    started_at: str  # ISO 8601, UTC
    duration_seconds: float
    outcome: Outcome
    reason: str | None = None  # why it was skipped or failed; a run's warnings (caches)
    counts: dict[str, int] = field(default_factory=dict)
    trigger: str = "run-cycle"  # "run-cycle" or "scheduler"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CycleRecord:
        return cls(
            cycle_id=str(data.get("cycle_id", "")),
            started_at=str(data.get("started_at", "")),
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            outcome=data.get("outcome", "failed"),
            reason=data.get("reason"),
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            trigger=str(data.get("trigger", "run-cycle")),
        )


@dataclass(frozen=True)
class CycleSummary:
    """What a cycle that ran tells the person who started it: workflows by status and the
    report's headline counts (models count once per model key, node types once per type)."""

    workflows: int = 0
    workflows_by_status: Mapping[str, int] = field(default_factory=dict)
    missing_models: int = 0
    misplaced_models: int = 0
    misspelled_models: int = 0
    broken_models: int = 0
    nameless_embeddings: int = 0  # prompts' bare ``embedding:`` that ComfyUI refuses
    missing_nodes: int = 0
    uncertain: int = 0
    resolutions: Mapping[str, int] = field(default_factory=dict)  # results by status
    models_installed: int = 0
    node_packs: int = 0
    node_source: str = ""
    intake_new_or_updated: int = 0

    def with_intake(self, count: int) -> CycleSummary:
        """The same summary with ``count`` workflows new or updated in this cycle."""
        return replace(self, intake_new_or_updated=count)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "workflows_by_status": dict(self.workflows_by_status),
            "resolutions": dict(self.resolutions),
        }

    @classmethod
    def from_json(cls, data: Any) -> CycleSummary:
        """Read a summary written by :meth:`to_json` (unknown keys ignored, missing ones
        zero).

        Raises:
            TypeError, ValueError: ``data`` is not such a document.
        """
        if not isinstance(data, dict):
            raise TypeError("a cycle summary is an object")
        by_status = data.get("workflows_by_status", {})
        resolutions = data.get("resolutions", {})
        if not isinstance(by_status, dict) or not isinstance(resolutions, dict):
            raise TypeError("workflows_by_status and resolutions are objects")
        numbers = {
            name: int(data.get(name, 0))
            for name in (
                "workflows",
                "missing_models",
                "misplaced_models",
                "misspelled_models",
                "broken_models",
                "nameless_embeddings",
                "missing_nodes",
                "uncertain",
                "models_installed",
                "node_packs",
                "intake_new_or_updated",
            )
        }
        return cls(
            workflows_by_status={str(k): int(v) for k, v in by_status.items()},
            resolutions={str(k): int(v) for k, v in resolutions.items()},
            node_source=str(data.get("node_source", "")),
            **numbers,
        )


RUNNING_FILE = "running.json"


@contextlib.contextmanager
def running_marker(state_dir: Path, started_at: str, pid: int) -> Iterator[None]:
    """While the block runs, ``state/running.json`` says a cycle runs (its start and
    process id), so ``status`` can say "running now" without touching the run lock."""
    path = state_dir / RUNNING_FILE
    atomic_write_json(
        path, {"schema_version": SCHEMA_VERSION, "started_at": started_at, "pid": pid}
    )
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def read_running(state_dir: Path, is_alive: Callable[[int], bool]) -> str | None:
    """When a cycle runs now, the time it started; None otherwise (no marker, or its
    process is gone: a killed cycle leaves its marker behind)."""
    data = read_json_state(state_dir / RUNNING_FILE, SCHEMA_VERSION)
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not is_alive(pid):
        return None
    return str(data.get("started_at") or "?")


@dataclass(frozen=True)
class CycleState:
    """The whole file: newest record last."""

    records: tuple[CycleRecord, ...] = ()
    next_run: str | None = None
    guard_memory: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> CycleRecord | None:
        return self.records[-1] if self.records else None


def load_cycle_state(path: Path) -> CycleState:
    """Read the cycle state; a missing or corrupt file gives an empty state (and is set aside)."""
    document = read_json_state(path, SCHEMA_VERSION)
    if document is None:
        return CycleState()
    records = tuple(
        CycleRecord.from_json(item)
        for item in document.get("records", [])
        if isinstance(item, dict)
    )
    memory = document.get("guard_memory")
    return CycleState(
        records=records,
        next_run=document.get("next_run"),
        guard_memory=memory if isinstance(memory, dict) else {},
    )


def save_cycle_state(path: Path, state: CycleState) -> None:
    """Write the cycle state atomically, keeping the newest ``MAX_RECORDS`` records.

    Raises:
        OSError: the file cannot be written.
    """
    atomic_write_json(
        path,
        {
            "schema_version": SCHEMA_VERSION,
            "records": [asdict(record) for record in state.records[-MAX_RECORDS:]],
            "next_run": state.next_run,
            "guard_memory": state.guard_memory,
        },
    )


@contextlib.contextmanager
def _updating(path: Path) -> Iterator[None]:
    # The scheduler (next run) and a cron cycle (its record) may both update the file at
    # the same instant; a short lock of its own keeps one from losing the other's write.
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(path.name + ".lock")), timeout=30):
        yield


def _update(path: Path, change: Callable[[CycleState], CycleState]) -> CycleState:
    with _updating(path):
        new_state = change(load_cycle_state(path))
        save_cycle_state(path, new_state)
        return new_state


def append_record(path: Path, record: CycleRecord) -> CycleState:
    """Add one cycle record to the file and return the new state."""
    return _update(
        path,
        lambda state: CycleState(
            records=(*state.records, record)[-MAX_RECORDS:],
            next_run=state.next_run,
            guard_memory=state.guard_memory,
        ),
    )


def update_next_run(path: Path, next_run: str | None) -> None:
    """Persist when the scheduler runs next (ISO 8601, UTC), or None."""
    _update(
        path,
        lambda state: CycleState(
            records=state.records, next_run=next_run, guard_memory=state.guard_memory
        ),
    )


def update_guard_memory(path: Path, memory: dict[str, Any]) -> None:
    """Persist what the guards remember between cycles (e.g. the last suspend total)."""
    _update(
        path,
        lambda state: CycleState(
            records=state.records, next_run=state.next_run, guard_memory=memory
        ),
    )
