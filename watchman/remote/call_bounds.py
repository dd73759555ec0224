"""One call's bounds: its total deadline, the size cap of its body and the stop event
that ends it, with the errors each bound raises and the socket timeouts clipped to the
time left."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from watchman.redaction import redact_url
from watchman.remote.http_errors import (
    DeadlineExceededError,
    RequestInterruptedError,
    ResponseTooLargeError,
)
from watchman.remote.http_options import HttpOptions


@dataclass
class CallBounds:
    """One call's bounds: its monotonic deadline, the size cap of its body and the stop
    event (``None``: nothing stops it but the deadline)."""

    method: str
    url: str
    deadline: float
    max_bytes: int
    deadline_seconds: float
    # False: a 5xx after the retries fails this call alone (one broken resource, not a
    # broken host), so the host is not marked down.
    marks_host_down: bool = True
    # True while the deadline, not a configured timeout, bounds the socket waits.
    deadline_bounds_waits: bool = False
    stop_event: threading.Event | None = None

    def attempt_timeout(self, timeout: httpx.Timeout | None, options: HttpOptions) -> httpx.Timeout:
        """Return the socket timeouts of the next attempt: ``timeout``, else those of
        ``options``, none longer than the time left; notes in ``deadline_bounds_waits``
        whether the deadline, not a configured timeout, now bounds the waits."""
        effective = timeout or httpx.Timeout(
            options.timeout_seconds,
            connect=options.connect_timeout_seconds or options.timeout_seconds,
        )
        # Over a client of another transport, no single wait may outlast the deadline.
        left = self.deadline - time.monotonic()
        self.deadline_bounds_waits = left <= max(
            value for value in (effective.read, effective.connect, 0.0) if value is not None
        )
        return _clipped(effective, left)

    def check_stop(self) -> None:
        """Return when no stop was asked for.

        Raises:
            RequestInterruptedError: the stop event is set.
        """
        if self.stop_event is not None and self.stop_event.is_set():
            raise self.interrupted()

    def interrupted(self) -> RequestInterruptedError:
        """Return the error of this call stopped by the stop event."""
        return RequestInterruptedError(
            f"{self.method} {redact_url(self.url)} was stopped: a stop was asked for."
        )

    def late(self, detail: str) -> DeadlineExceededError:
        """Return the error of this call past its deadline (``detail``: where it was)."""
        return DeadlineExceededError(
            f"{self.method} {redact_url(self.url)} did not finish within its "
            f"{self.deadline_seconds:g} s deadline {detail}."
        )

    def too_large(self, detail: str) -> ResponseTooLargeError:
        """Return the error of a body over this call's cap (``detail``: how it showed)."""
        return ResponseTooLargeError(
            f"{self.method} {redact_url(self.url)} answered more than the "
            f"{self.max_bytes} bytes this endpoint may send: {detail}."
        )


def _clipped(timeout: httpx.Timeout, left: float) -> httpx.Timeout:
    left = max(left, 0.001)

    def clip(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=clip(timeout.connect),
        read=clip(timeout.read),
        write=clip(timeout.write),
        pool=clip(timeout.pool),
    )
