"""The errors the gateway raises: every one a ``BackendError`` with a reason code.

``HttpStatusError`` (an error status, with its body), ``RetryLaterError``
(``rate_limited``, with the capped wait), ``HostDownError`` (``host_down``),
``DeadlineExceededError`` (``timeout``), ``ResponseTooLargeError`` (``too_large``) and
``RequestInterruptedError`` (``interrupted``).
"""

from __future__ import annotations

from typing import Any

from watchman.errors import BackendError


class RetryLaterError(BackendError):
    """The server asked to be left alone for ``retry_after_seconds`` (``Retry-After``).

    ``retry_after_seconds`` is already capped (``HttpOptions.retry_after_max_seconds``),
    so a cache may add it to the current time safely.
    """

    def __init__(self, message: str, reason: str, retry_after_seconds: float) -> None:
        super().__init__(message, reason)
        self.retry_after_seconds = retry_after_seconds


class HostDownError(BackendError):
    """The host was marked down earlier in this run; no request was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "host_down")


class HttpStatusError(BackendError):
    """The server answered with an error status; ``status_code`` and ``body`` say which."""

    def __init__(self, message: str, reason: str, status_code: int, body: Any) -> None:
        super().__init__(message, reason)
        self.status_code = status_code
        self.body = body


class DeadlineExceededError(BackendError):
    """The call did not finish within its total deadline (reason ``timeout``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout")


class ResponseTooLargeError(BackendError):
    """The body is larger than the endpoint's size cap (reason ``too_large``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "too_large")


class RequestInterruptedError(BackendError):
    """A stop was asked for while the call was under way (reason ``interrupted``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "interrupted")
