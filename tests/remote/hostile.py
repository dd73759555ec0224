"""Hostile HTTP servers on 127.0.0.1 for the gateway's tests.

Each misbehaves in one way a real server can: it trickles its body, says nothing, sends
far more than it should, breaks its body off, asks to be left alone with a strange
``Retry-After``, fails every time, redirects elsewhere, or echoes secrets back. Every loop
is bounded (a number of bytes or a number of short waits) and ends early once the client
hangs up or the server is closed, so no test can leave a thread running for long.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.local_http import LocalServer, QuietHandler


@dataclass
class Seen:
    """What a hostile server saw: the path and headers of every request."""

    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)

    def count(self) -> int:
        return len(self.paths)


Behaviour = Callable[[QuietHandler, Seen], None]


@contextmanager
def hostile(behaviour: Behaviour) -> Iterator[tuple[str, Seen]]:
    """Run a server on 127.0.0.1 answering every GET and POST with ``behaviour``; yield its
    base URL and what it saw."""
    seen = Seen()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(min(length, 1 << 20))
            self._answer()

        def _answer(self) -> None:
            seen.paths.append(self.path)
            seen.headers.append({key.lower(): value for key, value in self.headers.items()})
            seen.got_request.set()
            # The client hanging up is exactly what a bounded client does.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                behaviour(self, seen)

    server = LocalServer(Handler)
    with server:
        try:
            yield server.url, seen
        finally:
            seen.closed.set()


def trickle(total_bytes: int, every_seconds: float) -> Behaviour:
    """Declare ``total_bytes`` and send them one at a time, one every ``every_seconds``."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(total_bytes))
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(total_bytes):
            if seen.closed.wait(every_seconds):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    return behave


def silent(for_seconds: float) -> Behaviour:
    """Accept the request and say nothing at all for ``for_seconds``."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        seen.closed.wait(for_seconds)

    return behave


def huge(declared: int | None, send_bytes: int) -> Behaviour:
    """Send ``send_bytes`` of JSON-ish filler, declaring ``declared`` bytes (None: no
    ``Content-Length``, the body ends when the connection closes)."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared is not None:
            handler.send_header("Content-Length", str(declared))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b" " * 65536
        sent = 0
        while sent < send_bytes and not seen.closed.is_set():
            handler.wfile.write(chunk)
            sent += len(chunk)
        handler.close_connection = True

    return behave


def truncated(declared: int, send: bytes) -> Behaviour:
    """Declare ``declared`` bytes, send only ``send``, and close the connection."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(send)
        handler.wfile.flush()
        handler.close_connection = True

    return behave


def gzip_bomb(inflated_bytes: int) -> Behaviour:
    """Send ``inflated_bytes`` of zeros gzip-compressed (about a thousandth of that on
    the wire), declaring only the compressed length."""
    compressed = gzip.compress(b"\0" * inflated_bytes, compresslevel=9)

    def behave(handler: QuietHandler, seen: Seen) -> None:
        handler.send_body(200, compressed, {"Content-Encoding": "gzip"})

    return behave


def status(code: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> Behaviour:
    """Answer ``code`` with ``body`` and ``headers`` every time."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        handler.send_body(code, body, headers)

    return behave


def echoing(header_names: tuple[str, ...]) -> Behaviour:
    """Answer 200 and send back every request header's value under each of
    ``header_names`` (a server that echoes the caller's token)."""

    def behave(handler: QuietHandler, seen: Seen) -> None:
        echoed = " ".join(value for value in seen.headers[-1].values())
        handler.send_body(
            200,
            b'{"ok": true}',
            {name: echoed for name in header_names} | {"Set-Cookie": f"session={echoed}"},
        )

    return behave
