"""Reading an answer's body within its call's bounds: the size cap (a declared
``Content-Length`` refused before any byte, a body cut where it grows past the cap), the
deadline and the stop event looked at after every read; the JSON answer decoded, and the
streamed answer handed to a caller that reads the body itself."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson

from watchman.errors import BackendError
from watchman.redaction import redact_url
from watchman.remote.call_bounds import CallBounds
from watchman.remote.http_errors import HttpStatusError, ResponseTooLargeError
from watchman.remote.origins import host_of
from watchman.remote.retry_policy import Retryable, transport_failure

# An error answer's body is kept (for ``HttpStatusError.body``) up to this size.
ERROR_BODY_BYTES = 256 * 1024
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class JsonResponse:
    """A decoded JSON answer with the headers and the final URL it came from."""

    data: Any
    headers: Mapping[str, str]
    url: str


class StreamedResponse:
    """An answer whose body is read as it comes, within the call's deadline and size cap.

    ``status_code``, ``headers`` and ``url`` are those of the final answer (after the
    redirects). ``iter_bytes`` yields the body in chunks.
    """

    def __init__(self, response: httpx.Response, call: CallBounds) -> None:
        self._response = response
        self._call = call
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.url = str(response.url)

    def iter_bytes(self, chunk_size: int | None = CHUNK_BYTES) -> Iterator[bytes]:
        """Yield the body in chunks of about ``chunk_size`` bytes (at least that, save the
        last: the pieces read so far, joined once they reach it), or with ``None`` each
        piece as the socket gave it, never copied (a caller that copies the bytes anyway,
        such as the downloader into its write buffers, saves one copy of the body).

        Raises:
            DeadlineExceededError, ResponseTooLargeError, RequestInterruptedError,
            BackendError: ``bad_response`` when the body breaks off.
        """
        try:
            yield from body_chunks(self._response, self._call, chunk_size)
        except Retryable as failure:
            # A break in a streamed body is the caller's to handle (a download resumes).
            raise BackendError(f"{failure}.", failure.reason) from None

    def read(self) -> bytes:
        """Return the whole body (raises as ``iter_bytes``)."""
        return b"".join(self.iter_bytes())


def body_chunks(
    response: httpx.Response, call: CallBounds, chunk_size: int | None
) -> Iterator[bytes]:
    """Yield the body of ``response`` in chunks of at least ``chunk_size`` bytes (save the
    last), or each piece as read with ``None``, within the bounds of ``call``.

    Raises:
        ResponseTooLargeError: the body declares or grows past ``call.max_bytes``.
        DeadlineExceededError, RequestInterruptedError: the deadline passed, a stop.
        Retryable, BackendError: the body broke off (``transport_failure``).
    """
    host = host_of(response.url)
    declared = content_length(response)
    if declared is not None and declared > call.max_bytes:
        raise call.too_large(f"it declares {declared} bytes")
    received = 0
    pending: list[bytes] = []
    pending_bytes = 0
    try:
        # Pieces as they arrive (httpx's own chunking would read on, unchecked, until
        # a whole chunk is in), so the bounds are looked at after every read.
        for piece in response.iter_bytes():
            received += len(piece)
            if received > call.max_bytes:
                raise call.too_large("its body grew past that")
            call.check_stop()
            if time.monotonic() >= call.deadline:
                raise call.late(f"after {received} bytes of the body")
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
        raise transport_failure(call, host, error) from None


def error_body(response: httpx.Response, call: CallBounds) -> bytes:
    """Read an error answer's body up to a small cap (beyond it, no body is kept).

    Raises:
        as ``body_chunks``, except ``ResponseTooLargeError``.
    """
    small = replace(
        call,
        max_bytes=min(call.max_bytes, ERROR_BODY_BYTES),
        marks_host_down=True,
        deadline_bounds_waits=False,
    )
    try:
        return b"".join(body_chunks(response, small, CHUNK_BYTES))
    except ResponseTooLargeError:
        return b""


def decode_json(method: str, response: httpx.Response, content: bytes) -> JsonResponse:
    """Return the JSON answer ``content`` of ``response`` to a ``method`` request.

    Raises:
        HttpStatusError: an error status (reason ``auth_required`` for 401 and 403,
            ``not_found`` for 404, else ``bad_response``), with the body if it was JSON.
        BackendError: ``bad_response`` when a success answer is not JSON.
    """
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


def content_length(response: httpx.Response) -> int | None:
    """Return the ``Content-Length`` of ``response``, or None when absent or garbage."""
    value = response.headers.get("content-length", "")
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value.strip()) else None
