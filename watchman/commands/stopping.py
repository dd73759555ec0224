"""Stopping a command on SIGINT and SIGTERM: the signal sets the stop event every stage
and request watches, and the command exits 130 (SIGINT) or 143 (SIGTERM).

The stop event ends requests under way within about a second (the gateway's socket
waits look at it), the walks of the model and workflow trees at their next folder, and
the cycle at its next stage boundary. Should the cycle still be busy ``grace_seconds``
after the signal (work that does not look at the event: a disk that hangs, say), or a
second signal come, ``on_overdue`` runs: it records the cycle as interrupted and ends the
process. Every file the tool writes is replaced atomically, so ending there leaves no
half-written report.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from watchman.exit_status import ExitStatus

logger = logging.getLogger(__name__)

EXIT_AFTER: dict[int, int] = {
    int(signal.SIGINT): int(ExitStatus.SIGINT),
    int(signal.SIGTERM): int(ExitStatus.SIGTERM),
}
"""The exit status after each signal: 128 plus its number, as shells report it."""


@dataclass
class StopRequest:
    """What the signal handlers saw: the first signal caught, if any."""

    stop_event: threading.Event
    signals: list[int] = field(default_factory=list)
    _timer: threading.Timer | None = None

    @property
    def signal_number(self) -> int | None:
        """The first signal caught (None: none)."""
        return self.signals[0] if self.signals else None

    @property
    def exit_status(self) -> int | None:
        """130 after SIGINT, 143 after SIGTERM, None when no signal came."""
        number = self.signal_number
        return None if number is None else EXIT_AFTER.get(number, 128 + number)

    @property
    def signal_name(self) -> str:
        number = self.signal_number
        return signal.Signals(number).name if number is not None else "no signal"


@contextlib.contextmanager
def stop_on_signals(
    stop_event: threading.Event,
    *,
    grace_seconds: float = 0.0,
    on_overdue: Callable[[StopRequest], None] | None = None,
) -> Iterator[StopRequest]:
    """Make SIGINT and SIGTERM set ``stop_event`` while the block runs (main thread only;
    elsewhere signals cannot be caught and nothing is installed); restore the previous
    handlers after.

    Args:
        stop_event: set at the first signal.
        grace_seconds: how long after the first signal the block may still run before
            ``on_overdue`` is called (from a timer thread).
        on_overdue: called once, with the request, when the grace ends or a second
            signal comes before the block ends; expected to end the process. None: a
            signal only sets ``stop_event`` (the scheduler, which stops between cycles,
            and ``download``, which stops between chunks).

    Yields:
        The request, whose ``exit_status`` says how the command should exit.
    """
    request = StopRequest(stop_event)
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    overdue_once = threading.Lock()

    def overdue() -> None:
        if on_overdue is not None and overdue_once.acquire(blocking=False):
            on_overdue(request)

    def handle(number: int, frame: Any) -> None:
        request.signals.append(number)
        if len(request.signals) > 1:
            overdue()
            return
        logger.warning("Received %s; stopping.", signal.Signals(number).name)
        stop_event.set()
        if on_overdue is None:
            return
        timer = threading.Timer(grace_seconds, overdue)
        timer.daemon = True
        request._timer = timer
        timer.start()

    previous = {number: signal.signal(number, handle) for number in EXIT_AFTER}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        # Taken before cancelling: an overdue call already under way finishes its exit.
        if overdue_once.acquire(blocking=False) and request._timer is not None:
            request._timer.cancel()
