"""A small file server on 127.0.0.1 for the downloader's tests and benchmark.

``BlobServer`` serves ``blob`` at every path, with the knobs a model host has: ``Range``
support or not, an ETag, a connection cut after some bytes, a content type, a redirect to
another server, a slow trickle in chunks of a chosen size, an error status. Every
request's path and headers are kept in ``requests`` so a test can see what was sent (a
token, a ``Range``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.local_http import LocalServer, QuietHandler


@dataclass
class BlobServer:
    """What the server sends; change the fields between requests to change the file."""

    blob: bytes
    ranges: bool = True
    etag: str | None = '"v1"'
    content_type: str = "application/octet-stream"
    status: int = 200
    cut_after: int | None = None  # close the connection after this many body bytes...
    cuts_left: int = 0  # ...this many times
    redirect_to: str | None = None  # answer 302 to this URL (path appended)
    delay_per_chunk: float = 0.0  # seconds between chunks
    chunk: int = 1 << 16  # bytes per write (small ones with a delay: small socket reads)
    gate: threading.Event | None = None  # after ``gate_after`` bytes, wait until it is set
    gate_after: int = 512 << 10
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: LocalServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def __enter__(self) -> BlobServer:
        owner = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._answer(self)

        self._server = LocalServer(Handler)
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.__exit__(*exc_info)

    def _answer(self, handler: QuietHandler) -> None:
        with self._lock:
            self.requests.append({"path": handler.path, "headers": dict(handler.headers)})
            cut = self.cut_after if self.cuts_left > 0 else None
            if cut is not None:
                self.cuts_left -= 1
        if self.redirect_to is not None:
            handler.send_response(302)
            handler.send_header("Location", self.redirect_to + handler.path)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if self.status != 200:
            handler.send_body(self.status, b'{"error": "no"}')
            return
        blob = self.blob
        start = 0
        range_header = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        use_range = self.ranges and range_header is not None
        if use_range and if_range is not None and if_range != self.etag:
            use_range = False  # the file changed: RFC 9110 says send it whole
        if use_range:
            assert range_header is not None
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
        else:
            handler.send_response(200)
        body = blob[start:]
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(body)))
        if self.etag is not None:
            handler.send_header("ETag", self.etag)
        if self.ranges:
            handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        limit = len(body) if cut is None else min(cut, len(body))
        sent = 0
        waited = False
        try:
            while sent < limit:
                step = min(self.chunk, limit - sent)
                handler.wfile.write(body[sent : sent + step])
                sent += step
                if self.gate is not None and sent >= self.gate_after and not waited:
                    waited = True
                    handler.wfile.flush()
                    self.gate.wait(60)
                if self.delay_per_chunk:
                    handler.wfile.flush()
                    time.sleep(self.delay_per_chunk)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if cut is not None:
            # Cut the connection mid-body, as a dropped network would.
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)


def safetensors_blob(data_bytes: int = 1 << 20, seed: int = 7) -> bytes:
    """Return a valid ``.safetensors`` file: a header naming one tensor and its data."""
    import json
    import random
    import struct

    header = json.dumps(
        {"weight": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]}}
    ).encode()
    data = random.Random(seed).randbytes(data_bytes)
    return struct.pack("<Q", len(header)) + header + data
