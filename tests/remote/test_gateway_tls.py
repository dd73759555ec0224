"""HTTPS through the stoppable transport: the handshake is verified and answered, and a
stop or the deadline ends a handshake or a read that a TLS server leaves hanging. The
certificate is made for the test by the openssl command (skipped where it is absent)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.local_http import QuietHandler
from tests.resolve.conftest import FAST
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import DeadlineExceededError, RequestInterruptedError
from watchman.remote.transport import new_client

PATIENT = replace(FAST, timeout_seconds=60.0, max_retries=0, total_deadline_seconds=60.0)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is absent: no certificate for a local TLS server")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def client(certificate: tuple[Path, Path]) -> Iterator[httpx.Client]:
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with new_client(verify=trusted) as tls_client:
        yield tls_client


def tls_server(
    certificate: tuple[Path, Path],
    silent: threading.Event | None,
    got_request: threading.Event | None = None,
) -> ThreadingHTTPServer:
    """A TLS server on 127.0.0.1 answering {"tls": true}, or saying nothing until
    ``silent`` is set (``got_request`` is set once a request is in)."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if got_request is not None:
                got_request.set()
            if silent is not None:
                silent.wait(30)
                return
            self.send_body(200, b'{"tls": true}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    return f"https://127.0.0.1:{server.server_address[1]}"


def test_an_https_answer_comes_through_the_stoppable_transport(
    certificate: tuple[Path, Path], client: httpx.Client
) -> None:
    server = tls_server(certificate, None)
    try:
        assert HttpGateway(client, FAST).get_json(f"{url_of(server)}/api").data == {"tls": True}
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    server = tls_server(certificate, None)
    try:
        with new_client() as default_trust:
            with pytest.raises(BackendError) as raised:
                HttpGateway(default_trust, FAST).get_json(f"{url_of(server)}/api")
        assert raised.value.reason == "unreachable"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(20)
def test_a_stop_ends_a_read_a_tls_server_leaves_hanging(
    certificate: tuple[Path, Path], client: httpx.Client
) -> None:
    hold, got_request, stop = threading.Event(), threading.Event(), threading.Event()
    server = tls_server(certificate, hold, got_request)
    try:
        gateway = HttpGateway(client, PATIENT, stop_event=stop)
        # The stop comes once the request is in the server's hands: the client is reading.
        threading.Thread(target=lambda: got_request.wait(10) and stop.set()).start()
        with pytest.raises(RequestInterruptedError):
            gateway.get_json(f"{url_of(server)}/api")
    finally:
        hold.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def mute_listener() -> Iterator[tuple[str, threading.Event]]:
    """A TCP port that accepts connections and never says a word, so a TLS handshake
    hangs; the event is set once a connection is accepted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                connection, _ = listener.accept()
                held.append(connection)
                accepted.set()
        except OSError:
            return  # the listener was closed

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()
        for connection in held:
            connection.close()


@pytest.mark.timeout(20)
def test_a_hanging_handshake_ends_at_the_deadline_and_at_a_stop(
    client: httpx.Client, mute_listener: tuple[str, threading.Event]
) -> None:
    url, accepted = mute_listener
    with pytest.raises(DeadlineExceededError):
        HttpGateway(client, PATIENT).get_json(f"{url}/api", deadline_seconds=0.5)
    accepted.clear()
    stop = threading.Event()
    threading.Thread(target=lambda: accepted.wait(10) and stop.set()).start()
    with pytest.raises(RequestInterruptedError):
        HttpGateway(client, PATIENT, stop_event=stop).get_json(f"{url}/api")
