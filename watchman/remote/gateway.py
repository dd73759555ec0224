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
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from watchman import redaction
from watchman.errors import BackendError
from watchman.redaction import redact_url
from watchman.remote.hosts import HostLimiter, HostStates
from watchman.remote.http_errors import (
    DeadlineExceededError,
    HostDownError,
    HttpStatusError,
    RequestInterruptedError,
    ResponseTooLargeError,
    RetryLaterError,
)
from watchman.remote.origins import credentials_key, host_key, host_of
from watchman.remote.retry_after import (
    RETRY_AFTER_CEILING_SECONDS,
    parse_retry_after,
    server_time,
)
from watchman.remote.transport import guarded, new_client

__all__ = [
    "RETRY_AFTER_CEILING_SECONDS",
    "DeadlineExceededError",
    "HostDownError",
    "HostLimiter",
    "HostStates",
    "HttpGateway",
    "HttpOptions",
    "HttpStatusError",
    "JsonResponse",
    "RequestInterruptedError",
    "ResponseTooLargeError",
    "RetryLaterError",
    "StreamedResponse",
    "credentials_key",
    "host_key",
    "hosts_for",
    "new_client",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MIB = 1024 * 1024
# An error answer's body is kept (for ``HttpStatusError.body``) up to this size.
_ERROR_BODY_BYTES = 256 * 1024
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts, retries and limits of the HTTP path (tests shrink the waits).

    ``timeout_seconds`` is the longest silence of one read (and of the connect, unless
    ``connect_timeout_seconds``); ``total_deadline_seconds`` bounds a whole call;
    ``max_response_bytes`` is the default size cap of a body.
    """

    timeout_seconds: float = 20.0
    connect_timeout_seconds: float | None = None
    max_retries: int = 3
    per_host_concurrency: int = 2
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    retry_after_max_seconds: float = 86400.0
    max_redirects: int = 5
    total_deadline_seconds: float = 120.0
    max_response_bytes: int = 16 * MIB
    host_down_seconds: float = 1800.0


@dataclass(frozen=True)
class JsonResponse:
    """A decoded JSON answer with the headers and the final URL it came from."""

    data: Any
    headers: Mapping[str, str]
    url: str


class _Retryable(Exception):
    """An answer worth asking again: 429, 5xx, a read timeout, a torn body."""

    def __init__(
        self, reason: str, message: str, host: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.host = host
        self.retry_after = retry_after


@dataclass
class _Call:
    """One call's bounds: its monotonic deadline and the size cap of its body."""

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


class StreamedResponse:
    """An answer whose body is read as it comes, within the call's deadline and size cap.

    ``status_code``, ``headers`` and ``url`` are those of the final answer (after the
    redirects). ``iter_bytes`` yields the body in chunks.
    """

    def __init__(self, gateway: HttpGateway, response: httpx.Response, call: _Call) -> None:
        self._gateway = gateway
        self._response = response
        self._call = call
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.url = str(response.url)

    def iter_bytes(self, chunk_size: int | None = _CHUNK_BYTES) -> Iterator[bytes]:
        """Yield the body in chunks of about ``chunk_size`` bytes (at least that, save the
        last: the pieces read so far, joined once they reach it), or with ``None`` each
        piece as the socket gave it, never copied (a caller that copies the bytes anyway,
        such as the downloader into its write buffers, saves one copy of the body).

        Raises:
            DeadlineExceededError, ResponseTooLargeError, RequestInterruptedError,
            BackendError: ``bad_response`` when the body breaks off.
        """
        try:
            yield from self._gateway._body_chunks(self._response, self._call, chunk_size)
        except _Retryable as failure:
            # A break in a streamed body is the caller's to handle (a download resumes).
            raise BackendError(f"{failure}.", failure.reason) from None

    def read(self) -> bytes:
        """Return the whole body (raises as ``iter_bytes``)."""
        return b"".join(self.iter_bytes())


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
                            content = self._error_body(response, call)
                        else:
                            content = b"".join(self._body_chunks(response, call, _CHUNK_BYTES))
                        return self._decode(method, response, content)
                except _Retryable as failure:
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
                        yield StreamedResponse(self, response, call)
                        return
                except _Retryable as failure:
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
    ) -> _Call:
        redaction.register_url_secrets(url)
        for name, value in (params or {}).items():
            if str(name).lower() in redaction.SECRET_PARAMS:
                redaction.register_secret(str(value))
        seconds = (
            deadline_seconds
            if deadline_seconds is not None
            else self.options.total_deadline_seconds
        )
        return _Call(
            method=method,
            url=url,
            deadline=time.monotonic() + seconds,
            max_bytes=max_bytes if max_bytes is not None else self.options.max_response_bytes,
            deadline_seconds=seconds,
        )

    def _before_retry(self, call: _Call, failure: _Retryable, attempt: int) -> None:
        """Wait before the next attempt, or raise the failure when none is left."""
        what = f"{call.method} {redact_url(call.url)}"
        retries_left = attempt < self.options.max_retries
        if failure.retry_after is not None:
            wait = min(failure.retry_after, self.options.retry_after_cap_seconds)
        else:
            wait = min(
                self.options.backoff_max_seconds,
                self.options.backoff_initial_seconds * (2**attempt),
            ) + random.uniform(0, self.options.backoff_initial_seconds)
        fits = time.monotonic() + wait < call.deadline
        if retries_left and fits:
            logger.debug("%s: %s; retrying in %.1f s", what, failure, wait)
            self._pause(wait)
            self._check_stop(call)
            return
        message = f"{what} failed: {failure}."
        if failure.reason == "server_error" and not retries_left and call.marks_host_down:
            # Still failing after every retry, Retry-After or not: down for this run.
            self.hosts.mark_down(failure.host, f"{failure} after {attempt + 1} attempts")
        if failure.retry_after is not None:
            seconds = min(failure.retry_after, self.options.retry_after_max_seconds)
            self.hosts.pause(failure.host, seconds, f"asked to wait {seconds:.0f} s")
            raise RetryLaterError(message, failure.reason, seconds) from None
        if not fits and failure.reason == "timeout":
            raise DeadlineExceededError(
                f"{what} did not finish within its {call.deadline_seconds:.0f} s deadline "
                f"({failure})."
            ) from None
        raise BackendError(message, failure.reason) from None

    @contextmanager
    def _exchange(
        self,
        call: _Call,
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
            self._check_stop(call)
            host = host_of(current)
            self.hosts.check(host)
            headers = {**(extra_headers or {}), **self.headers_for(current)}
            slot = self.hosts.acquire(
                host,
                stop_event=self.stop_event,
                deadline=call.deadline,
                on_stop=lambda: self._interrupted(call),
                on_deadline=lambda: self._late(call, "while waiting for a free slot"),
            )
            try:
                with self._send(call, current, method, json_body, headers, timeout) as response:
                    status = response.status_code
                    if status in _REDIRECT_STATUSES and "location" in response.headers:
                        # Followed here, with the next host's own headers: no token crosses.
                        try:
                            current = current.join(response.headers["location"])
                        except (httpx.InvalidURL, ValueError):
                            raise BackendError(
                                f"{host} redirected to an invalid address.", "bad_response"
                            ) from None
                        if status == 303:
                            method, json_body = "GET", None
                        continue
                    if status == 429 or status >= 500:
                        raise self._retryable_status(call, host, response)
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
        call: _Call,
        url: httpx.URL,
        method: str,
        json_body: Any,
        headers: Mapping[str, str],
        timeout: httpx.Timeout | None,
    ) -> Iterator[httpx.Response]:
        host = host_of(url)
        effective = timeout or httpx.Timeout(
            self.options.timeout_seconds,
            connect=self.options.connect_timeout_seconds or self.options.timeout_seconds,
        )
        # Over a client of another transport, no single wait may outlast the deadline.
        left = call.deadline - time.monotonic()
        call.deadline_bounds_waits = left <= max(
            value for value in (effective.read, effective.connect, 0.0) if value is not None
        )
        effective = _clipped(effective, left)
        logger.debug("%s %s", method, redact_url(url))
        try:
            request = self.client.build_request(
                method, url, json=json_body, headers=dict(headers), timeout=effective
            )
            response = self.client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as error:
            raise self._transport_failure(call, host, error) from None
        try:
            yield response
        finally:
            response.close()

    def _transport_failure(self, call: _Call, host: str, error: httpx.HTTPError) -> Exception:
        """Return the error a transport failure stands for: a stop and the deadline first."""
        self._check_stop(call)
        timed_out = isinstance(error, httpx.TimeoutException)
        if time.monotonic() >= call.deadline or (timed_out and call.deadline_bounds_waits):
            return self._late(call, f"({type(error).__name__})")
        detail = redaction.redact(str(error)) or type(error).__name__
        if isinstance(error, httpx.ConnectTimeout):
            return BackendError(f"{host} did not accept a connection in time.", "unreachable")
        if isinstance(error, httpx.ConnectError):
            return BackendError(f"{host} is unreachable: {detail}.", "unreachable")
        if isinstance(error, httpx.TimeoutException):
            return _Retryable("timeout", f"{host} did not answer in time", host)
        if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
            return _Retryable("bad_response", f"{host} broke the answer off: {detail}", host)
        return BackendError(
            f"{call.method} {redact_url(call.url)} failed: {detail}.", "unreachable"
        )

    def _retryable_status(self, call: _Call, host: str, response: httpx.Response) -> Exception:
        status = response.status_code
        reason = "rate_limited" if status == 429 else "server_error"
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), server_time(response.headers.get("date"))
        )
        cap = self.options.retry_after_cap_seconds
        if retry_after is not None and retry_after > cap:
            # Retrying after the cap would ask a host that told us to wait longer.
            seconds = min(retry_after, self.options.retry_after_max_seconds)
            self.hosts.pause(host, seconds, f"HTTP {status} with Retry-After {seconds:.0f} s")
            return RetryLaterError(
                f"{host} answered HTTP {status} and asked to wait {seconds:.0f} s, more than "
                f"the {cap:.0f} s this tool waits; not asked again before then.",
                "rate_limited",
                seconds,
            )
        return _Retryable(reason, f"{host} answered HTTP {status}", host, retry_after)

    # -- bodies -----------------------------------------------------------------------

    def _body_chunks(
        self, response: httpx.Response, call: _Call, chunk_size: int | None
    ) -> Iterator[bytes]:
        host = host_of(response.url)
        declared = _content_length(response)
        if declared is not None and declared > call.max_bytes:
            raise self._too_large(call, f"it declares {declared} bytes")
        received = 0
        pending: list[bytes] = []
        pending_bytes = 0
        try:
            # Pieces as they arrive (httpx's own chunking would read on, unchecked, until
            # a whole chunk is in), so the bounds are looked at after every read.
            for piece in response.iter_bytes():
                received += len(piece)
                if received > call.max_bytes:
                    raise self._too_large(call, "its body grew past that")
                self._check_stop(call)
                if time.monotonic() >= call.deadline:
                    raise self._late(call, f"after {received} bytes of the body")
                if chunk_size is None:
                    yield piece
                    continue
                # Joined once per chunk: growing one bytes object piece by piece copied
                # each chunk ~chunk/piece times, the downloader's largest cost after sha256.
                pending.append(piece)
                pending_bytes += len(piece)
                if pending_bytes >= chunk_size:
                    yield b"".join(pending)
                    pending.clear()
                    pending_bytes = 0
            if pending:
                yield b"".join(pending)
        except httpx.HTTPError as error:
            # A silence or a break in mid-body fails this attempt (retried by request_json).
            raise self._transport_failure(call, host, error) from None

    def _error_body(self, response: httpx.Response, call: _Call) -> bytes:
        """Read an error answer's body up to a small cap (beyond it, no body is kept)."""
        small = _Call(
            call.method,
            call.url,
            call.deadline,
            min(call.max_bytes, _ERROR_BODY_BYTES),
            call.deadline_seconds,
        )
        try:
            return b"".join(self._body_chunks(response, small, _CHUNK_BYTES))
        except ResponseTooLargeError:
            return b""

    def _decode(self, method: str, response: httpx.Response, content: bytes) -> JsonResponse:
        body: Any
        try:
            body = orjson.loads(content) if content else None
            decoded = True
        except orjson.JSONDecodeError:
            body, decoded = None, False
        status = response.status_code
        where = redact_url(response.url)
        if status >= 400:
            reason = {401: "auth_required", 403: "auth_required", 404: "not_found"}.get(
                status, "bad_response"
            )
            raise HttpStatusError(f"{method} {where} answered HTTP {status}.", reason, status, body)
        if not decoded:
            raise BackendError(f"{method} {where} did not answer JSON.", "bad_response")
        return JsonResponse(data=body, headers=dict(response.headers), url=str(response.url))

    # -- stops, deadlines, waits ------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.stop_event is not None:
            # Wakes as soon as a stop is asked for; the caller then raises.
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def _check_stop(self, call: _Call) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            raise self._interrupted(call)

    def _interrupted(self, call: _Call) -> RequestInterruptedError:
        return RequestInterruptedError(
            f"{call.method} {redact_url(call.url)} was stopped: a stop was asked for."
        )

    def _late(self, call: _Call, detail: str) -> DeadlineExceededError:
        return DeadlineExceededError(
            f"{call.method} {redact_url(call.url)} did not finish within its "
            f"{call.deadline_seconds:g} s deadline {detail}."
        )

    def _too_large(self, call: _Call, detail: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"{call.method} {redact_url(call.url)} answered more than the "
            f"{call.max_bytes} bytes this endpoint may send: {detail}."
        )


_hosts_by_client: weakref.WeakKeyDictionary[httpx.Client, HostStates] = weakref.WeakKeyDictionary()
_hosts_lock = threading.Lock()


def hosts_for(client: httpx.Client, options: HttpOptions | None = None) -> HostStates:
    """Return the host state shared by every gateway over ``client``.

    A process has one client (``services.py`` makes it), so the resolver's gateways, the
    Qwen tool calls, the node map, the ComfyUI server and the downloads all meet one
    state per host: its slots, its pauses, its down mark. The first gateway over a client
    sets the per-host concurrency and the down time (``options``).
    """
    options = options or HttpOptions()
    with _hosts_lock:
        hosts = _hosts_by_client.get(client)
        if hosts is None:
            hosts = HostStates(options.per_host_concurrency, down_seconds=options.host_down_seconds)
            _hosts_by_client[client] = hosts
        return hosts


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


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value.strip()) else None
