"""Running a cycle's stages: each is announced, timed and logged, and a stop asked for
between two stages ends the cycle there (the order itself is :mod:`watchman.cycle`'s)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from watchman.clocks import Clock
from watchman.cycle_listener import CycleListener
from watchman.errors import CycleInterrupted
from watchman.state.structured_log import StructuredLog


class StageRunner:
    """Runs a cycle's stages one at a time: tells the listener each one starts, times it,
    writes its structured log line (with what the stage adds to it), and ends the cycle
    at the next stage boundary once a stop was asked for."""

    def __init__(
        self,
        log: StructuredLog,
        clock: Clock,
        cycle_id: str,
        stop_event: threading.Event | None,
        listener: CycleListener,
    ) -> None:
        self.log = log
        self.clock = clock
        self.cycle_id = cycle_id
        self.stop_event = stop_event
        self.listener = listener

    def progress(self, phase: str) -> Callable[[int, int], None]:
        """The (done, total) callback of a stage that counts its steps."""
        listener = self.listener
        return lambda done, total: listener.on_progress(phase, done, total)

    @contextmanager
    def stage(self, phase: str) -> Iterator[dict[str, Any]]:
        """Run the ``with`` body as the stage ``phase``; it may add fields to the dict it
        is given, which go into the stage's log line.

        Raises:
            CycleInterrupted: a stop was asked for before the stage began.
        """
        if self.stop_event is not None and self.stop_event.is_set():
            raise CycleInterrupted(f"stop requested before the {phase} stage")
        self.listener.on_stage(phase)
        started = self.clock.monotonic()
        extra: dict[str, Any] = {}
        yield extra
        self.log.write(
            "stage",
            cycle_id=self.cycle_id,
            phase=phase,
            duration_seconds=round(self.clock.monotonic() - started, 4),
            **extra,
        )
