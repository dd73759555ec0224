"""Small HTTP servers on 127.0.0.1 for the tests of every package that talks HTTP.

``LocalServer`` runs any handler class in a daemon thread and stops it on leaving its
``with`` block; ``answering`` builds the common case, a server whose GET answers come from
one function of the path. ``refused_url`` names a port on which nothing listens.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access-log lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send ``status`` and ``body`` as JSON (``headers`` may add or override)."""
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) serving ``handler``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: ``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def answering(respond: Callable[[str], tuple[int, bytes]]) -> LocalServer:
    """Return a server answering every GET with ``respond(path)``: a status and a JSON body."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_body(*respond(self.path))

    return LocalServer(Handler)


def refused_url() -> str:
    """Return a 127.0.0.1 URL on which nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
