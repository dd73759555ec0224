"""What every caller in the process knows about each remote host, shared by all of them.

One ``HostStates`` lives beside the one gateway of a process, so the Qwen tool calls, the
node-map fetch, every backend and the downloads meet the same state per host:

- a bounded number of requests in flight (a slot is waited for in short slices, so a stop
  or a deadline ends the wait);
- a **pause**: a host that asked (``Retry-After``) for a longer wait than a request may
  spend is not asked again until then; later requests fail at once with
  ``RetryLaterError`` (``rate_limited``) and the time left;
- **down**: a host that still answered 5xx after the retries is marked down, for
  ``down_seconds`` or until ``new_run()``; later requests fail at once with
  ``HostDownError`` (``host_down``) naming the first failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from watchman.remote.http_errors import HostDownError, RetryLaterError

# How long a slot wait sleeps before it looks at the stop event and the deadline again.
_SLOT_POLL_SECONDS = 0.2


@dataclass
class _Host:
    slots: threading.BoundedSemaphore
    paused_until: float = 0.0
    pause_reason: str = ""
    down_until: float = 0.0
    down_reason: str = ""


@dataclass
class HostStates:
    """Per-host concurrency, pauses and down marks, shared by every gateway of a process.

    ``clock`` is a monotonic clock in seconds (tests pass their own).
    """

    per_host: int = 2
    down_seconds: float = 1800.0
    clock: Callable[[], float] = time.monotonic
    _hosts: dict[str, _Host] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _host(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = _Host(threading.BoundedSemaphore(self.per_host))
                self._hosts[host] = state
            return state

    def slot(self, host: str) -> threading.BoundedSemaphore:
        """Return the semaphore bounding the requests in flight to ``host``."""
        return self._host(host).slots

    def acquire(
        self,
        host: str,
        *,
        stop_event: threading.Event | None,
        deadline: float | None,
        on_stop: Callable[[], BaseException],
        on_deadline: Callable[[], BaseException],
    ) -> threading.BoundedSemaphore:
        """Wait for a slot of ``host`` and return it, acquired (release it when done).

        Raises:
            the exception ``on_stop()`` returns once ``stop_event`` is set, or the one
            ``on_deadline()`` returns once the monotonic ``deadline`` passes.
        """
        slots = self.slot(host)
        while True:
            if stop_event is not None and stop_event.is_set():
                raise on_stop()
            wait = _SLOT_POLL_SECONDS
            if deadline is not None:
                wait = min(wait, deadline - self.clock())
                if wait <= 0:
                    raise on_deadline()
            if slots.acquire(timeout=wait):
                return slots

    def check(self, host: str) -> None:
        """Raise if ``host`` must not be asked now.

        Raises:
            HostDownError: the host was marked down (and the mark has not expired).
            RetryLaterError: the host asked for a pause that has not ended.
        """
        state = self._host(host)
        now = self.clock()
        with self._lock:
            if state.down_until > now:
                raise HostDownError(
                    f"{host} was marked down earlier in this run ({state.down_reason}); "
                    "not asked again until the next run."
                )
            left = state.paused_until - now
            reason = state.pause_reason
        if left > 0:
            raise RetryLaterError(
                f"{host} asked not to be asked for a while ({reason}); "
                f"{left:.0f} s left, not asked again before then.",
                "rate_limited",
                left,
            )

    def pause(self, host: str, seconds: float, reason: str) -> None:
        """Ask nothing of ``host`` for ``seconds`` (a longer pause already set stays)."""
        state = self._host(host)
        with self._lock:
            until = self.clock() + max(0.0, seconds)
            if until > state.paused_until:
                state.paused_until, state.pause_reason = until, reason

    def mark_down(self, host: str, reason: str) -> None:
        """Mark ``host`` down for ``down_seconds`` or until ``new_run()``; ``reason`` is
        the sentence later fast failures repeat."""
        state = self._host(host)
        with self._lock:
            state.down_until = self.clock() + self.down_seconds
            state.down_reason = reason

    def is_down(self, host: str) -> bool:
        """Return whether ``host`` is marked down now."""
        state = self._host(host)
        with self._lock:
            return state.down_until > self.clock()

    def new_run(self) -> None:
        """Forget the down marks: a new cycle gives every host another chance. Pauses a
        host asked for stay until they end."""
        with self._lock:
            for state in self._hosts.values():
                state.down_until, state.down_reason = 0.0, ""


# The name the backends and tests used before hosts carried more than a slot.
HostLimiter = HostStates
