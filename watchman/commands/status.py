"""What ``comfywatchman status`` shows: the last cycles, the next run, the last report.

Read-only: it reads ``state/cycle_state.json`` and the ``summary`` key of
``output/reports/status/master_status.json``; it never takes the run lock, so it answers
while a cycle runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil

from watchman.home import Home
from watchman.reporting.report_index import index_path, summary_of_report
from watchman.state.cycle_state import CycleRecord, load_cycle_state, read_running

logger = logging.getLogger(__name__)

DEFAULT_CYCLES = 10


@dataclass(frozen=True)
class StatusView:
    """The daemon's status as read from the home.

    ``cycles`` is newest first. ``next_run`` is None when no scheduler is running (a
    stopped scheduler clears it). ``report_summary`` is None when there is no report yet,
    or it cannot be read (``report_problem`` says why).
    """

    home: Path
    cycles: tuple[CycleRecord, ...]
    next_run: str | None
    report_json: Path | None
    report_markdown: Path | None
    report_summary: dict[str, Any] | None
    report_problem: str | None = None
    running_since: str | None = None  # a cycle runs now, started then

    @property
    def last_success(self) -> CycleRecord | None:
        """The newest cycle that ran to the end, among those shown."""
        return next((record for record in self.cycles if record.outcome == "ran"), None)


def collect_status(
    home: Home, limit: int = DEFAULT_CYCLES, is_alive: Callable[[int], bool] = psutil.pid_exists
) -> StatusView:
    """Read the status from ``home``.

    Args:
        home: the tool's home.
        limit: how many of the newest cycles to include.
        is_alive: whether a process id still runs (a killed cycle's marker is stale).

    Returns:
        The status; missing files give an empty status, never an error. A corrupt cycle
        state file is set aside by ``load_cycle_state`` and reads as empty.
    """
    state = load_cycle_state(home.cycle_state)
    newest_first = tuple(reversed(state.records))[: max(limit, 0)]
    summary, problem = _read_report_summary(home.report_json, index_path(home.state_dir))
    return StatusView(
        home=home.root,
        cycles=newest_first,
        next_run=state.next_run,
        report_json=home.report_json if home.report_json.is_file() else None,
        report_markdown=home.report_markdown if home.report_markdown.is_file() else None,
        report_summary=summary,
        report_problem=problem,
        running_since=read_running(home.state_dir, is_alive),
    )


def format_duration(seconds: float) -> str:
    """Return a cycle's duration for a person: ``45 ms`` below a second, else ``12.3 s``.

    A quick cycle (nothing changed) takes tens of milliseconds, which ``0.0 s`` would hide.
    """
    if seconds < 0.9995:  # from here on it would round to "1000 ms"
        return f"{max(seconds, 0.0) * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def status_to_json(view: StatusView) -> dict[str, Any]:
    """Return the status as a JSON-ready dict (the ``status --json`` contract)."""
    return {
        "schema_version": 1,
        "home": view.home.as_posix(),
        "next_run": view.next_run,
        "running_since": view.running_since,
        "cycles": [asdict(record) for record in view.cycles],
        "last_success": asdict(view.last_success) if view.last_success else None,
        "report": {
            "json": view.report_json.as_posix() if view.report_json else None,
            "markdown": view.report_markdown.as_posix() if view.report_markdown else None,
            "summary": view.report_summary,
            "problem": view.report_problem,
        },
    }


def _read_report_summary(path: Path, index: Path) -> tuple[dict[str, Any] | None, str | None]:
    # The index keeps the summary of the report it describes: no 17 MB decode (~130 MiB
    # at 5,000 workflows) to show a dozen numbers. Without it (a report of an older
    # version, replaced by hand), the report is read as before.
    kept = summary_of_report(path, index)
    if kept is not None:
        return dict(kept), None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"cannot read {path}: {error.strerror or error}"
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        # The report is rewritten whole by the next cycle; status only says so.
        return None, f"{path} is not valid JSON ({error})"
    if not isinstance(document, dict):
        return None, f"{path} is not a JSON object"
    summary = document.get("summary")
    if summary is None:
        return None, f"{path} has no summary"
    if not isinstance(summary, dict):
        return None, f"the summary in {path} is not a JSON object"
    return summary, None


def next_run_line(view: StatusView, now: float) -> str:
    """ "running now" during a cycle; a next run never shown in the past."""
    from datetime import datetime

    if view.running_since is not None:
        return f"running now: a cycle started at {view.running_since}"
    if view.next_run is None:
        return "next run: not scheduled (no --scheduler running)"
    try:
        due = datetime.fromisoformat(view.next_run.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return f"next run: {view.next_run}"
    if due <= now:
        return f"next run: due now (was planned for {view.next_run})"
    return f"next run: {view.next_run}"
