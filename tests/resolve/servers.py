"""Small local HTTP servers on 127.0.0.1 that replay recorded answers and count requests.

A route matches a method, a path and, optionally, query values; its replies are played in
order and the last one repeats. Every request is recorded (method, path, query, headers,
body) so tests can count what reached the server.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.local_http import LocalServer, QuietHandler
from tests.local_http import refused_url as refused_url  # the resolve tests import it from here

RECORDINGS = Path(__file__).resolve().parent / "recordings"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
# A reply delay for timeout tests: far past any client timeout the tests set (at most
# 0.2 s), so a client starved of CPU on a loaded machine still times out before the answer
# comes. Handler threads are daemons: the wait never holds up a test's teardown.
LATE = 5.0


def recording(name: str) -> Any:
    """Return one of our own recordings-by-hand (tests/resolve/recordings/NAME)."""
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Reply:
    """One recorded answer: status, body (bytes, str, or a value sent as JSON), headers,
    and an optional delay before answering (to provoke a client timeout)."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Route:
    method: str
    path: str
    query: Mapping[str, str]
    replies: list[Reply] | Callable[[Seen], Reply]
    played: int = 0


class ReplayServer:
    """A threaded HTTP server on 127.0.0.1 with routes set by the test."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(QuietHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
                reply = server._reply_for(seen)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    # Counted out before the answer leaves: once a client has it, it may
                    # send its next request at once, and this thread, descheduled under
                    # load, must not still count the finished one as in flight.
                    with server._lock:
                        server.in_flight -= 1
                # The client may have given up (a timeout test): nothing to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_body(reply.status, reply.encoded(), dict(reply.headers))

            do_GET = _handle
            do_POST = _handle

        self._server = LocalServer(Handler)

    @property
    def url(self) -> str:
        return self._server.url

    def route(
        self,
        method: str,
        path: str,
        *replies: Reply,
        query: Mapping[str, str] | None = None,
        handler: Callable[[Seen], Reply] | None = None,
    ) -> None:
        """Answer ``method path`` (and matching ``query`` values) with ``replies`` in turn
        (the last repeats), or with ``handler(seen)``."""
        self._routes.append(_Route(method, path, dict(query or {}), handler or list(replies)))

    def count(self, path: str | None = None) -> int:
        """Return how many requests arrived (for ``path`` only, when given)."""
        with self._lock:
            return sum(1 for seen in self.requests if path is None or seen.path == path)

    def _reply_for(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            for route in self._routes:
                if route.method != seen.method or route.path != seen.path:
                    continue
                if any(seen.query.get(key) != [value] for key, value in route.query.items()):
                    continue
                if callable(route.replies):
                    handler = route.replies
                    break
                reply = route.replies[min(route.played, len(route.replies) - 1)]
                route.played += 1
                return reply
            else:
                return Reply(404, {"error": f"no route for {seen.method} {seen.path}"})
        return handler(seen)

    def __enter__(self) -> ReplayServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.__exit__(*exc_info)
