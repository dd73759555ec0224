"""The record of a cycle: what it did (:class:`CycleResult`) and where that is kept.

:func:`record_cycle` is the one function that records a cycle, however it ended and
whoever ran it (``--run-cycle``, the scheduler, a stop that came too late): the cycle
state, one structured log line and the metrics textfile. :class:`CycleRecorder` records
the cycle in hand from its start, whichever way :func:`watchman.cycle.run_cycle` leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchman.clocks import Clock
from watchman.home import Home
from watchman.state import metrics
from watchman.state.cycle_state import (
    CycleRecord,
    CycleState,
    CycleSummary,
    Outcome,
    append_record,
)
from watchman.state.structured_log import StructuredLog

if TYPE_CHECKING:
    from watchman.stages.fingerprint import RunOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did: its record, where the report is, and the report's summary."""

    record: CycleRecord
    report_json: Path | None = None
    report_markdown: Path | None = None
    summary: CycleSummary | None = None  # None: the cycle did not run its stages

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_id": self.record.cycle_id,
            "started_at": self.record.started_at,
            "duration_seconds": self.record.duration_seconds,
            "outcome": self.record.outcome,
            "reason": self.record.reason,
            "counts": self.record.counts,
            "report_json": str(self.report_json) if self.report_json else None,
            "report_markdown": str(self.report_markdown) if self.report_markdown else None,
            "summary": self.summary.to_json() if self.summary is not None else {},
        }


def record_cycle(
    home: Home, metrics_textfile: Path | None, record: CycleRecord, wall: Callable[[], float]
) -> CycleState:
    """Record one cycle, however it ended and whoever ran it (``--run-cycle`` or the
    scheduler): appended to the cycle state, one structured log line (dated by ``wall``),
    and the metrics textfile when configured. Returns the new cycle state.

    Raises:
        OSError: the cycle state cannot be written.
    """
    counts = record.counts
    StructuredLog(home.structured_log, wall).write(
        "cycle",
        cycle_id=record.cycle_id,
        phase="cycle",
        outcome=record.outcome,
        reason=record.reason,
        trigger=record.trigger,
        duration_seconds=record.duration_seconds,
        workflows_scanned=counts.get("workflows", 0),
        resolved=counts.get("resolved", 0),
        uncertain=counts.get("uncertain", 0),
        errors=counts.get("errors", 0),
        counts=counts,
    )
    state = append_record(home.cycle_state, record)
    if metrics_textfile is not None:
        try:
            metrics.write_metrics_textfile(metrics_textfile, state)
        except OSError as error:
            logger.warning("Cannot write metrics to %s: %s", metrics_textfile, error)
    return state


@dataclass
class CycleRecorder:
    """Records the cycle in hand, however it ends (see :func:`record_cycle`); its duration
    runs from when the recorder is made."""

    home: Home
    metrics_textfile: Path | None
    cycle_id: str
    started_at: str
    trigger: str
    clock: Clock
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    def finish(
        self, outcome: Outcome, reason: str | None, ran: RunOutcome | None = None
    ) -> CycleResult:
        """Record the cycle as ended with ``outcome`` (and ``reason``); ``ran``: what a
        cycle that ran its stages (or stopped at an unchanged fingerprint) hands over.
        Returns the cycle's result, pointing at the report when it ran.

        Raises:
            OSError: the cycle state cannot be written.
        """
        record = CycleRecord(
            cycle_id=self.cycle_id,
            started_at=self.started_at,
            duration_seconds=round(self.clock.monotonic() - self.started, 3),
            outcome=outcome,
            reason=reason,
            counts=dict(ran.counts) if ran is not None else {},
            trigger=self.trigger,
        )
        record_cycle(self.home, self.metrics_textfile, record, self.clock.wall)
        if ran is None:
            return CycleResult(record=record)
        return CycleResult(
            record=record,
            report_json=self.home.report_json,
            report_markdown=self.home.report_markdown,
            summary=ran.summary,
        )
