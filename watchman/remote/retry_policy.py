"""Which failures are asked again, and how long to wait first: 429, 5xx, a read timeout
and a torn body are retried with exponential backoff and jitter, or after the
``Retry-After`` the host sent when it fits; a longer wait pauses the host, and a host
still failing after every retry is marked down for the run."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import httpx

from watchman import redaction
from watchman.errors import BackendError
from watchman.redaction import redact_url
from watchman.remote.call_bounds import CallBounds
from watchman.remote.hosts import HostStates
from watchman.remote.http_errors import DeadlineExceededError, RetryLaterError
from watchman.remote.http_options import HttpOptions
from watchman.remote.retry_after import parse_retry_after, server_time

logger = logging.getLogger(__name__)


class Retryable(Exception):
    """An answer worth asking again: 429, 5xx, a read timeout, a torn body."""

    def __init__(
        self, reason: str, message: str, host: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.host = host
        self.retry_after = retry_after


def transport_failure(call: CallBounds, host: str, error: httpx.HTTPError) -> Exception:
    """Return the error a transport failure of ``call`` to ``host`` stands for: a stop
    and the deadline first, then a ``Retryable`` for a silence or a break in the answer,
    else a ``BackendError`` (``unreachable``).

    Raises:
        RequestInterruptedError: the call's stop event is set.
    """
    call.check_stop()
    timed_out = isinstance(error, httpx.TimeoutException)
    if time.monotonic() >= call.deadline or (timed_out and call.deadline_bounds_waits):
        return call.late(f"({type(error).__name__})")
    detail = redaction.redact(str(error)) or type(error).__name__
    if isinstance(error, httpx.ConnectTimeout):
        return BackendError(f"{host} did not accept a connection in time.", "unreachable")
    if isinstance(error, httpx.ConnectError):
        return BackendError(f"{host} is unreachable: {detail}.", "unreachable")
    if isinstance(error, httpx.TimeoutException):
        return Retryable("timeout", f"{host} did not answer in time", host)
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
        return Retryable("bad_response", f"{host} broke the answer off: {detail}", host)
    return BackendError(f"{call.method} {redact_url(call.url)} failed: {detail}.", "unreachable")


def status_failure(
    options: HttpOptions, hosts: HostStates, host: str, response: httpx.Response
) -> Exception:
    """Return the failure a 429 or 5xx answer of ``host`` stands for: a ``Retryable``
    carrying its ``Retry-After``, or, when the host asks to wait longer than
    ``retry_after_cap_seconds``, a ``RetryLaterError`` after pausing the host in
    ``hosts``."""
    status = response.status_code
    reason = "rate_limited" if status == 429 else "server_error"
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), server_time(response.headers.get("date"))
    )
    cap = options.retry_after_cap_seconds
    if retry_after is not None and retry_after > cap:
        # Retrying after the cap would ask a host that told us to wait longer.
        seconds = min(retry_after, options.retry_after_max_seconds)
        hosts.pause(host, seconds, f"HTTP {status} with Retry-After {seconds:.0f} s")
        return RetryLaterError(
            f"{host} answered HTTP {status} and asked to wait {seconds:.0f} s, more than "
            f"the {cap:.0f} s this tool waits; not asked again before then.",
            "rate_limited",
            seconds,
        )
    return Retryable(reason, f"{host} answered HTTP {status}", host, retry_after)


def wait_or_raise(
    call: CallBounds,
    failure: Retryable,
    attempt: int,
    *,
    options: HttpOptions,
    hosts: HostStates,
    pause: Callable[[float], None],
) -> None:
    """Wait (``pause``) before the next attempt of ``call`` after ``failure`` on attempt
    number ``attempt`` (from 0), or raise the failure when no retry is left or the wait
    would pass the deadline.

    Raises:
        RequestInterruptedError: a stop was asked for during the wait.
        RetryLaterError: the host asked to wait (it is paused in ``hosts``).
        DeadlineExceededError: a timeout with no time left for another attempt.
        BackendError: any other failure, with its reason (a ``server_error`` after every
            retry marks the host down unless ``call.marks_host_down`` is False).
    """
    what = f"{call.method} {redact_url(call.url)}"
    retries_left = attempt < options.max_retries
    if failure.retry_after is not None:
        wait = min(failure.retry_after, options.retry_after_cap_seconds)
    else:
        wait = min(
            options.backoff_max_seconds,
            options.backoff_initial_seconds * (2**attempt),
        ) + random.uniform(0, options.backoff_initial_seconds)
    fits = time.monotonic() + wait < call.deadline
    if retries_left and fits:
        logger.debug("%s: %s; retrying in %.1f s", what, failure, wait)
        pause(wait)
        call.check_stop()
        return
    message = f"{what} failed: {failure}."
    if failure.reason == "server_error" and not retries_left and call.marks_host_down:
        # Still failing after every retry, Retry-After or not: down for this run.
        hosts.mark_down(failure.host, f"{failure} after {attempt + 1} attempts")
    if failure.retry_after is not None:
        seconds = min(failure.retry_after, options.retry_after_max_seconds)
        hosts.pause(failure.host, seconds, f"asked to wait {seconds:.0f} s")
        raise RetryLaterError(message, failure.reason, seconds) from None
    if not fits and failure.reason == "timeout":
        raise DeadlineExceededError(
            f"{what} did not finish within its {call.deadline_seconds:.0f} s deadline ({failure})."
        ) from None
    raise BackendError(message, failure.reason) from None
