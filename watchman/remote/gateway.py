"""The one polite HTTP path of the process: every backend, the Qwen tool calls, the
node-map fetch and the downloads send their requests through an ``HttpGateway``.

What a request gets here, and its documented bounds (``HttpOptions``):

- **A total deadline** (``total_deadline_seconds``, default 120 s, or ``deadline_seconds``
  per call) over everything a call does: waiting for a host slot, connecting, every
  attempt, every redirect, every backoff wait and every byte of the body. A body trickled
  one byte a second cannot stretch it: each socket wait is cut at the deadline (over a
  ``new_client()`` client; over another client a read may overrun it by one read timeout)
  and the call raises ``DeadlineExceededError`` (reason ``timeout``).
- **A size cap** per endpoint (``max_bytes`` per call, default ``max_response_bytes``,
  16 MiB): a ``Content-Length`` over the cap is refused before any byte is read, and a body
  that grows past it (counted after decompression, so a gzip bomb is cut too) is cut
  there; ``ResponseTooLargeError`` (reason ``too_large``).
- **Retries** (``max_retries``, default 3) on 429, 5xx, a read timeout and a torn body,
  with exponential backoff and jitter. ``Retry-After`` (seconds or an HTTP date; garbage
  is ignored) is waited out when it fits under ``retry_after_cap_seconds`` and the
  deadline; a longer one pauses the host (``RetryLaterError``, reason ``rate_limited``),
  the pause itself capped at ``retry_after_max_seconds`` (default 24 h, the default
  longest error time-to-live of the resolution cache).
- **Shared host state** (``HostStates``): per-host concurrency, pauses, and a host that
  still answered 5xx after the retries marked down (reason ``host_down`` for the requests
  that follow, which fail at once without being sent).
- **A stop event**: once set, the call raises ``RequestInterruptedError`` (reason
  ``interrupted``) within ``transport.POLL_SECONDS`` (0.2 s) wherever it is, a blocked
  read included (over a ``new_client()`` client).
- **Tokens** go only to their own origin (scheme, host, port): redirects are followed here
  and never carry a token to another host, nor over plain HTTP. Every credential is
  registered with ``redaction`` so it never appears in a log line or an error message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from watchman import redaction
from watchman.errors import BackendError
from watchman.redaction import redact_url
from watchman.remote.call_bounds import CallBounds
from watchman.remote.hosts import HostStates
from watchman.remote.http_options import HttpOptions, hosts_for
from watchman.remote.origins import credentials_key, host_of
from watchman.remote.redirects import redirect_target
from watchman.remote.response_bodies import (
    CHUNK_BYTES,
    JsonResponse,
    StreamedResponse,
    body_chunks,
    decode_json,
    error_body,
)
from watchman.remote.retry_policy import (
    Retryable,
    status_failure,
    transport_failure,
    wait_or_raise,
)
from watchman.remote.transport import guarded, new_client

logger = logging.getLogger(__name__)


@dataclass
class HttpGateway:
    """Sends requests through an ``httpx.Client`` (best one from ``new_client()``).

    ``credentials`` maps an origin (``credentials_key``: ``scheme://host:port``) to headers
    sent only to that origin, such as an ``Authorization`` token; one gateway may hold the
    credentials of every service.

    ``stop_event``, when set, ends every call under way and refuses new ones
    (``RequestInterruptedError``, reason ``interrupted``). ``sleep`` replaces the backoff
    wait (tests record the waits instead of sleeping). ``limiter`` (a ``HostStates``)
    defaults to the one shared by every gateway over the same client (``hosts_for``).
    """

    client: httpx.Client = field(default_factory=new_client)
    options: HttpOptions = field(default_factory=HttpOptions)
    credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sleep: Callable[[float], None] | None = None
    limiter: HostStates | None = None
    stop_event: threading.Event | None = None

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = hosts_for(self.client, self.options)
        redaction.install()
        for headers in self.credentials.values():
            for value in headers.values():
                redaction.register_secret(value)

    @property
    def hosts(self) -> HostStates:
        """The shared per-host state (concurrency, pauses, down marks)."""
        assert self.limiter is not None  # set in __post_init__
        return self.limiter

    def close(self) -> None:
        """Close the client (the one made here, or the one given)."""
        self.client.close()

    def new_run(self) -> None:
        """Forget which hosts were marked down: call at the start of each cycle."""
        self.hosts.new_run()

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        timeout: httpx.Timeout | None = None,
        deadline_seconds: float | None = None,
        max_bytes: int | None = None,
        marks_host_down: bool = True,
    ) -> JsonResponse:
        """GET ``url`` and decode its JSON body.

        ``timeout`` replaces the per-read and connect timeouts, ``deadline_seconds`` the
        total deadline and ``max_bytes`` the size cap, for this call. ``marks_host_down``
        False: a 5xx after the retries fails this call without marking the host down (a
        per-resource call, such as one repository's listing among several).

        Raises:
            BackendError: unreachable, timeout (``DeadlineExceededError`` past the total
                deadline), rate_limited (``RetryLaterError``), server_error, host_down,
                too_large, interrupted, auth_required, not_found or bad_response
                (``HttpStatusError`` for error statuses).
        """
        return self.request_json(
            "GET",
            url,
            params=params,
            timeout=timeout,
            deadline_seconds=deadline_seconds,
            max_bytes=max_bytes,
            marks_host_down=marks_host_down,
        )

    def post_json(
        self,
        url: str,
        body: Any,
        *,
        timeout: httpx.Timeout | None = None,
        deadline_seconds: float | None = None,
        max_bytes: int | None = None,
    ) -> JsonResponse:
        """POST ``body`` as JSON to ``url`` and decode the JSON answer.

        Raises:
            BackendError: as ``get_json``.
        """
        return self.request_json(
            "POST",
            url,
            json_body=body,
            timeout=timeout,
            deadline_seconds=deadline_seconds,
            max_bytes=max_bytes,
        )

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        timeout: httpx.Timeout | None = None,
        deadline_seconds: float | None = None,
        max_bytes: int | None = None,
        marks_host_down: bool = True,
    ) -> JsonResponse:
        """Send one request with retries and decode its JSON answer (``marks_host_down``:
        as for ``get_json``).

        Raises:
            BackendError: as ``get_json``.
        """
        call = self._call(method, url, params, deadline_seconds, max_bytes)
        call.marks_host_down = marks_host_down
        with guarded(self.stop_event, call.deadline):
            for attempt in range(self.options.max_retries + 1):
                try:
                    with self._exchange(call, params, json_body, None, timeout) as response:
                        if response.status_code >= 400:
                            content = error_body(response, call)
                        else:
                            content = b"".join(body_chunks(response, call, CHUNK_BYTES))
                        return decode_json(method, response, content)
                except Retryable as failure:
                    self._before_retry(call, failure, attempt)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: httpx.Timeout | None = None,
        deadline_seconds: float | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[StreamedResponse]:
        """Send one request and yield its answer with the body not yet read.

        The answer may have any status (a download wants to see 206 or 416 itself); 429
        and 5xx are retried first as for ``request_json``. The body must be read inside
        the ``with`` block, in the same thread: the deadline (``deadline_seconds``, else
        ``total_deadline_seconds``) and the stop event bound every read, and ``max_bytes``
        (else ``max_response_bytes``) caps the body. ``headers`` are sent as well (a
        ``Range``, say); credentials still go only to their own origin.

        Raises:
            BackendError: as ``get_json``, before or while the body is read.
        """
        call = self._call(method, url, params, deadline_seconds, max_bytes)
        with guarded(self.stop_event, call.deadline):
            for attempt in range(self.options.max_retries + 1):
                answered = False
                try:
                    with self._exchange(call, params, None, headers, timeout) as response:
                        answered = True
                        yield StreamedResponse(response, call)
                        return
                except Retryable as failure:
                    if answered:
                        # The body is the caller's: a break in it is not ours to retry.
                        raise BackendError(str(failure), failure.reason) from None
                    self._before_retry(call, failure, attempt)

    def headers_for(self, url: httpx.URL | str) -> dict[str, str]:
        """Return the credential headers to send to ``url``: those of its exact origin
        (scheme, host and port), so an ``https`` token never goes over ``http``."""
        return dict(self.credentials.get(credentials_key(url), {}))

    # -- one call ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        deadline_seconds: float | None,
        max_bytes: int | None,
    ) -> CallBounds:
        redaction.register_url_secrets(url)
        for name, value in (params or {}).items():
            if str(name).lower() in redaction.SECRET_PARAMS:
                redaction.register_secret(str(value))
        seconds = (
            deadline_seconds
            if deadline_seconds is not None
            else self.options.total_deadline_seconds
        )
        return CallBounds(
            method=method,
            url=url,
            deadline=time.monotonic() + seconds,
            max_bytes=max_bytes if max_bytes is not None else self.options.max_response_bytes,
            deadline_seconds=seconds,
            stop_event=self.stop_event,
        )

    def _before_retry(self, call: CallBounds, failure: Retryable, attempt: int) -> None:
        """Wait before the next attempt, or raise the failure when none is left."""
        wait_or_raise(
            call, failure, attempt, options=self.options, hosts=self.hosts, pause=self._pause
        )

    @contextmanager
    def _exchange(
        self,
        call: CallBounds,
        params: Mapping[str, Any] | None,
        json_body: Any,
        extra_headers: Mapping[str, str] | None,
        timeout: httpx.Timeout | None,
    ) -> Iterator[httpx.Response]:
        """Send one attempt, following redirects, and yield the final answer unread."""
        method = call.method
        # httpx drops a URL's own query when given params=None, so pass params only if any.
        current = httpx.URL(call.url, params=dict(params)) if params else httpx.URL(call.url)
        for _ in range(self.options.max_redirects + 1):
            call.check_stop()
            host = host_of(current)
            self.hosts.check(host)
            headers = {**(extra_headers or {}), **self.headers_for(current)}
            slot = self.hosts.acquire(
                host,
                stop_event=self.stop_event,
                deadline=call.deadline,
                on_stop=call.interrupted,
                on_deadline=lambda: call.late("while waiting for a free slot"),
            )
            try:
                with self._send(call, current, method, json_body, headers, timeout) as response:
                    status = response.status_code
                    target = redirect_target(current, response, host)
                    if target is not None:
                        # Followed here, with the next host's own headers: no token crosses.
                        current = target
                        if status == 303:
                            method, json_body = "GET", None
                        continue
                    if status == 429 or status >= 500:
                        raise status_failure(self.options, self.hosts, host, response)
                    yield response
                    return
            finally:
                slot.release()
        raise BackendError(
            f"{call.method} {redact_url(call.url)} redirected too many times.", "bad_response"
        )

    @contextmanager
    def _send(
        self,
        call: CallBounds,
        url: httpx.URL,
        method: str,
        json_body: Any,
        headers: Mapping[str, str],
        timeout: httpx.Timeout | None,
    ) -> Iterator[httpx.Response]:
        host = host_of(url)
        effective = call.attempt_timeout(timeout, self.options)
        logger.debug("%s %s", method, redact_url(url))
        try:
            request = self.client.build_request(
                method, url, json=json_body, headers=dict(headers), timeout=effective
            )
            response = self.client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as error:
            raise transport_failure(call, host, error) from None
        try:
            yield response
        finally:
            response.close()

    # -- waits ----------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.stop_event is not None:
            # Wakes as soon as a stop is asked for; the caller then raises.
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)
