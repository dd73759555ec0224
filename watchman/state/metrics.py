"""Per-cycle figures as a Prometheus textfile for node_exporter's textfile collector.

node_exporter reads ``*.prom`` files from its ``--collector.textfile.directory``; the file
is replaced atomically (temp file in the same folder, then rename), so the collector never
reads half a file. The temporary name starts with a dot and does not end in ``.prom``,
so the collector never picks it up either.

Labels stay low-cardinality: a skip is labelled with the guard that said no (the part of
the reason before the first colon, e.g. ``awake`` or ``vram``), never the whole sentence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from watchman.state.cycle_state import CycleRecord, CycleState
from watchman.state.safe_files import atomic_write_bytes

logger = logging.getLogger(__name__)

PREFIX = "comfywatchman"
OUTCOMES = ("ran", "skipped", "failed", "interrupted")
_REASON_CODE = re.compile(r"^([a-z][a-z0-9_]{0,31}):")
_METRIC_NAME = re.compile(r"[^a-zA-Z0-9_]")


def write_metrics_textfile(path: Path, state: CycleState) -> None:
    """Write the metrics of the last cycle (and a few totals) to ``path`` atomically.

    Args:
        path: the textfile, normally ``<textfile directory>/comfywatchman.prom``.
        state: the cycle state after the cycle was recorded.

    Raises:
        OSError: the file cannot be written; the previous file is left as it was.
    """
    atomic_write_bytes(path, render_metrics(state).encode("utf-8"))


def render_metrics(state: CycleState) -> str:
    """Return the textfile content for ``state`` (node_exporter text format 0.0.4)."""
    lines: list[str] = []
    last = state.last
    if last is not None:
        _gauge(
            lines,
            "last_cycle_duration_seconds",
            "How long the last cycle took.",
            [("", last.duration_seconds)],
        )
        _gauge(
            lines,
            "last_cycle_start_timestamp_seconds",
            "When the last cycle started (Unix time).",
            [("", _timestamp(last.started_at))],
        )
        _gauge(
            lines,
            "last_cycle_outcome",
            "1 for the outcome the last cycle had (ran, skipped, failed, interrupted), else 0.",
            [
                (_labels(outcome=outcome), 1 if last.outcome == outcome else 0)
                for outcome in OUTCOMES
            ],
        )
        if last.outcome == "skipped":
            _gauge(
                lines,
                "last_cycle_skipped",
                "1 when the last cycle was skipped, labelled with the guard that said no.",
                [(_labels(reason=reason_code(last.reason)), 1)],
            )
        if last.counts:
            _gauge(
                lines,
                "last_cycle_count",
                "What the last cycle counted (workflows scanned, models missing, ...).",
                [(_labels(name=name), value) for name, value in sorted(last.counts.items())],
            )
    success = _last_success(state.records)
    if success is not None:
        _gauge(
            lines,
            "last_success_timestamp_seconds",
            "When the last cycle that ran to the end finished (Unix time).",
            [("", _end_time(success))],
        )
    totals = {outcome: 0 for outcome in OUTCOMES}
    for record in state.records:
        totals[record.outcome] = totals.get(record.outcome, 0) + 1
    _gauge(
        lines,
        "recent_cycles",
        "Cycles kept in state/cycle_state.json (the newest 100), by outcome.",
        [(_labels(outcome=outcome), count) for outcome, count in totals.items()],
    )
    if state.next_run:
        _gauge(
            lines,
            "next_run_timestamp_seconds",
            "When the scheduler runs the next cycle (Unix time).",
            [("", _timestamp(state.next_run))],
        )
    return "\n".join(lines) + "\n"


def reason_code(reason: str | None) -> str:
    """Return the short code of a skip reason: the guard name before the colon, or ``other``."""
    match = _REASON_CODE.match(reason or "")
    return match.group(1) if match else "other"


def _last_success(records: Iterable[CycleRecord]) -> CycleRecord | None:
    return next((record for record in reversed(tuple(records)) if record.outcome == "ran"), None)


def _gauge(
    lines: list[str], name: str, help_text: str, samples: list[tuple[str, float | None]]
) -> None:
    # A sample without a value (an unreadable time) is left out rather than written as 0.
    present = [(labels, value) for labels, value in samples if value is not None]
    if not present:
        return
    full = f"{PREFIX}_{_METRIC_NAME.sub('_', name)}"
    lines.append(f"# HELP {full} {help_text}")
    lines.append(f"# TYPE {full} gauge")
    for labels, value in present:
        lines.append(f"{full}{labels} {_number(value)}")


def _end_time(record: CycleRecord) -> float | None:
    started = _timestamp(record.started_at)
    return None if started is None else started + record.duration_seconds


def _labels(**labels: str) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _timestamp(iso: str) -> float | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        logger.debug("Not an ISO 8601 time in the cycle state: %r", iso)
        return None
    # The state stores UTC; a time without an offset is read as UTC, never as local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
