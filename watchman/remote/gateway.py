"""The one polite HTTP path every backend uses.

Each request has a timeout; 429, 5xx and read timeouts are retried by tenacity with
exponential backoff and jitter, honouring ``Retry-After`` (seconds or HTTP date); a host
that asks for a longer wait than the cap is not asked again at all (``rate_limited``);
each host gets a bounded number of requests in flight; redirects are followed here, so a
token is attached only to the scheme, host and port it belongs to: never forwarded to
another host, nor to the same host over plain HTTP after a downgrading redirect.
Transport failures and bad answers leave as ``BackendError`` with a reason code. A stop
event, once set, ends the work before the next attempt (reason ``interrupted``) and cuts
any backoff wait short.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from watchman.errors import BackendError

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts, retries and limits of the HTTP path (tests shrink the waits)."""

    timeout_seconds: float = 20.0
    connect_timeout_seconds: float | None = None
    max_retries: int = 3
    per_host_concurrency: int = 2
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    max_redirects: int = 5


@dataclass(frozen=True)
class JsonResponse:
    """A decoded JSON answer with the headers and the final URL it came from."""

    data: Any
    headers: Mapping[str, str]
    url: str


class HttpStatusError(BackendError):
    """The server answered with an error status; ``status_code`` and ``body`` say which."""

    def __init__(self, message: str, reason: str, status_code: int, body: Any) -> None:
        super().__init__(message, reason)
        self.status_code = status_code
        self.body = body


class RetryLaterError(BackendError):
    """The server asked to be left alone for ``retry_after_seconds`` (``Retry-After``)."""

    def __init__(self, message: str, reason: str, retry_after_seconds: float) -> None:
        super().__init__(message, reason)
        self.retry_after_seconds = retry_after_seconds


class _Retryable(Exception):
    """An answer worth asking again: 429, 5xx, a read timeout, a torn body."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class HostLimiter:
    """A bounded number of requests in flight per host, shared by every gateway."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def slot(self, host: str) -> threading.BoundedSemaphore:
        """Return the semaphore of ``host`` (created on first use)."""
        with self._lock:
            semaphore = self._semaphores.get(host)
            if semaphore is None:
                semaphore = threading.BoundedSemaphore(self.per_host)
                self._semaphores[host] = semaphore
            return semaphore


@dataclass
class HttpGateway:
    """Sends requests for the backends through an injected ``httpx.Client``.

    ``credentials`` maps an origin (``credentials_key``: ``scheme://host:port``) to headers
    sent only to that origin, such as an ``Authorization`` token.

    ``stop_event``, when set, makes the next attempt raise ``BackendError`` (reason
    ``interrupted``) without sending anything, and ends a backoff wait at once. ``sleep``
    replaces the backoff wait (tests record the waits instead of sleeping).
    """

    client: httpx.Client
    options: HttpOptions = field(default_factory=HttpOptions)
    credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sleep: Callable[[float], None] | None = None
    limiter: HostLimiter | None = None
    stop_event: threading.Event | None = None

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = HostLimiter(self.options.per_host_concurrency)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> JsonResponse:
        """GET ``url`` and decode its JSON body.

        Raises:
            BackendError: unreachable, timeout, rate_limited, server_error, auth_required,
                not_found or bad_response (``HttpStatusError`` for error statuses).
        """
        return self.request_json("GET", url, params=params, timeout=timeout)

    def post_json(
        self, url: str, body: Any, *, timeout: httpx.Timeout | None = None
    ) -> JsonResponse:
        """POST ``body`` as JSON to ``url`` and decode the JSON answer.

        Raises:
            BackendError: as ``get_json``.
        """
        return self.request_json("POST", url, json_body=body, timeout=timeout)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        timeout: httpx.Timeout | None = None,
    ) -> JsonResponse:
        """Send one request with retries and decode its JSON answer.

        Raises:
            BackendError: as ``get_json``.
        """
        effective_timeout = timeout or httpx.Timeout(
            self.options.timeout_seconds,
            connect=self.options.connect_timeout_seconds or self.options.timeout_seconds,
        )
        retrying = Retrying(
            stop=stop_after_attempt(self.options.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._pause,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._send_once(method, url, params, json_body, effective_timeout)
        except _Retryable as failure:
            message = f"{method} {url} failed: {failure}"
            if failure.retry_after is not None:
                raise RetryLaterError(message, failure.reason, failure.retry_after) from None
            raise BackendError(message, failure.reason) from None
        return self._decode(method, url, response)

    def _wait(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return min(failure.retry_after, self.options.retry_after_cap_seconds)
        backoff = wait_exponential_jitter(
            multiplier=self.options.backoff_initial_seconds,
            max=self.options.backoff_max_seconds,
            jitter=self.options.backoff_initial_seconds,
        )
        return float(backoff(retry_state))

    def headers_for(self, url: httpx.URL | str) -> dict[str, str]:
        """Return the credential headers to send to ``url``: those of its exact origin
        (scheme, host and port), so an ``https`` token never goes over ``http``."""
        return dict(self.credentials.get(credentials_key(url), {}))

    def _pause(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.stop_event is not None:
            # Wakes as soon as a stop is asked for; the next attempt then raises.
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def _check_stop(self, method: str, url: httpx.URL) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            raise BackendError(f"{method} {url} was not sent: a stop was asked for.", "interrupted")

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        assert self.limiter is not None  # set in __post_init__
        return self.limiter.slot(host)

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        timeout: httpx.Timeout,
    ) -> httpx.Response:
        # httpx drops a URL's own query when given params=None, so pass params only if any.
        current = httpx.URL(url, params=dict(params)) if params else httpx.URL(url)
        for _ in range(self.options.max_redirects + 1):
            self._check_stop(method, current)
            host = _host_of(current)
            headers = self.headers_for(current)
            try:
                with self._slot(host):
                    logger.debug("%s %s", method, current)
                    response = self.client.request(
                        method,
                        current,
                        json=json_body,
                        headers=headers,
                        timeout=timeout,
                        follow_redirects=False,
                    )
            except httpx.ConnectTimeout:
                raise BackendError(
                    f"{host} did not accept a connection in time.", "unreachable"
                ) from None
            except httpx.ConnectError as error:
                raise BackendError(f"{host} is unreachable: {error}.", "unreachable") from None
            except httpx.TimeoutException:
                raise _Retryable("timeout", f"{host} did not answer in time") from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                raise _Retryable("bad_response", f"{host} broke the answer off: {error}") from None
            except httpx.HTTPError as error:
                raise BackendError(f"{method} {current} failed: {error}.", "unreachable") from None
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                # Followed here, with the next host's own headers, so no token crosses hosts.
                current = current.join(response.headers["location"])
                if response.status_code == 303:
                    method, json_body = "GET", None
                continue
            if response.status_code == 429 or response.status_code >= 500:
                reason = "rate_limited" if response.status_code == 429 else "server_error"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                cap = self.options.retry_after_cap_seconds
                if retry_after is not None and retry_after > cap:
                    # Retrying after the cap would ask a host that told us to wait longer.
                    raise RetryLaterError(
                        f"{host} answered HTTP {response.status_code} and asked to wait "
                        f"{retry_after:.0f} s, more than the {cap:.0f} s "
                        "this tool waits; not asked again this run.",
                        "rate_limited",
                        retry_after,
                    )
                raise _Retryable(
                    reason, f"{host} answered HTTP {response.status_code}", retry_after
                )
            return response
        raise BackendError(f"{method} {url} redirected too many times.", "bad_response")

    def _decode(self, method: str, url: str, response: httpx.Response) -> JsonResponse:
        body: Any
        try:
            body = orjson.loads(response.content) if response.content else None
            decoded = True
        except orjson.JSONDecodeError:
            body, decoded = None, False
        status = response.status_code
        if status >= 400:
            reason = {401: "auth_required", 403: "auth_required", 404: "not_found"}.get(
                status, "bad_response"
            )
            raise HttpStatusError(
                f"{method} {response.url} answered HTTP {status}.", reason, status, body
            )
        if not decoded:
            raise BackendError(f"{method} {response.url} did not answer JSON.", "bad_response")
        return JsonResponse(data=body, headers=dict(response.headers), url=str(response.url))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds, or None.

    Takes delta-seconds (``"5"``) or an HTTP date; a date in the past means zero.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _host_of(url: httpx.URL) -> str:
    host = (url.host or "").lower()
    return f"{host}:{url.port}" if url.port is not None else host


def host_key(url: str) -> str:
    """Return the per-host key of the concurrency limit: lower-case host, with the port when
    explicit."""
    return _host_of(httpx.URL(url))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def credentials_key(url: httpx.URL | str) -> str:
    """Return the origin a credential belongs to: ``scheme://host:port``, lower case, with
    the scheme's default port filled in (``https://a.com`` and ``https://a.com:443`` are one
    origin; ``http://a.com`` is another)."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    scheme = parsed.scheme.lower()
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parsed.host or '').lower()}:{port}"
