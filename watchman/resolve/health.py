"""Which backends are down for the rest of a run, shared by every caller of a backend.

The resolver asks backends in order; Qwen's tool calls and proposal checks ask Civitai and
Hugging Face too. Both go through one ``HealthBoard``, so a service found unreachable, hung,
failing (5xx after retries) or rate limited is asked no more this run by anyone, and a
``Retry-After`` it sent is remembered for the cache.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchman.errors import BackendError
from watchman.remote.http_errors import RetryLaterError

logger = logging.getLogger(__name__)

# Failures that mean "the service is not there or does not want us": no point asking it
# again this run. A timeout comes after the gateway's retries, a 5xx too.
DOWN_REASONS = frozenset({"unreachable", "timeout", "rate_limited", "server_error", "host_down"})
# A Retry-After longer than this is read as this: no cache entry outlives a week, and a
# date far in the future (or an absurd number) must not overflow the clock.
_LONGEST_WAIT = timedelta(days=7)


@dataclass
class BackendHealth:
    """One backend's state in this run."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: bool = False
    down: BackendError | None = None
    # The time a Retry-After asked us to wait until.
    retry_at: datetime | None = None


class HealthBoard:
    """The health of every backend of one run; thread-safe."""

    def __init__(
        self,
        names: Iterable[str],
        now: Callable[[], datetime],
    ) -> None:
        """``now`` reads the clock handed down from ``main()`` (an aware UTC datetime)."""
        self._now = now
        self._backends = {name: BackendHealth() for name in names}
        self._lock = threading.Lock()

    def of(self, name: str) -> BackendHealth:
        """Return the state of backend ``name`` (created on first use)."""
        with self._lock:
            return self._backends.setdefault(name, BackendHealth())

    def down(self, name: str) -> BackendError | None:
        """Return the failure that marked ``name`` down this run, or None."""
        return self.of(name).down

    def record(self, name: str, error: BackendError) -> None:
        """Note a failure of ``name``: a down reason marks it down for the run, and a
        ``Retry-After`` (capped at a week) is remembered."""
        health = self.of(name)
        with self._lock:
            if error.reason in DOWN_REASONS and health.down is None:
                health.down = error
                logger.info("%s is marked down for the rest of this run: %s", name, error)
            if isinstance(error, RetryLaterError):
                asked = self._now() + _bounded_wait(error.retry_after_seconds)
                health.retry_at = max(asked, health.retry_at or asked)

    def retry_at(self, name: str) -> datetime | None:
        """Return the time ``name`` asked to be left alone until, or None."""
        return self.of(name).retry_at


def _bounded_wait(seconds: float) -> timedelta:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        return _LONGEST_WAIT
    return min(timedelta(seconds=min(seconds, _LONGEST_WAIT.total_seconds())), _LONGEST_WAIT)
