"""Every call through the gateway is bounded: a total deadline a trickle cannot stretch, a
size cap per endpoint, and a stop that ends it wherever it is, a blocked read included.
Hostile servers on 127.0.0.1; the assertions are on which error ended the call, never on
wall time (pytest-timeout only keeps a broken bound from hanging the suite)."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.remote.hostile import hostile, huge, silent, status, trickle, truncated
from tests.resolve.conftest import FAST
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import (
    DeadlineExceededError,
    RequestInterruptedError,
    ResponseTooLargeError,
)
from watchman.remote.transport import new_client

# Reads may be silent for a minute: only the deadline or the stop can end these calls early.
PATIENT = dataclasses.replace(FAST, timeout_seconds=60.0, max_retries=0)


@pytest.fixture
def stoppable_client() -> Iterator[httpx.Client]:
    with new_client() as client:
        yield client


@pytest.mark.timeout(20)
def test_a_body_trickled_for_30_s_is_cut_at_the_1_s_deadline(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(trickle(total_bytes=30, every_seconds=1.0)) as (url, seen):
        gateway = HttpGateway(stoppable_client, PATIENT)
        with pytest.raises(DeadlineExceededError) as raised:
            gateway.get_json(f"{url}/models", deadline_seconds=1.0)
    assert raised.value.reason == "timeout"
    assert "1 s deadline" in str(raised.value)
    assert seen.count() == 1


@pytest.mark.timeout(20)
def test_the_deadline_also_bounds_a_client_of_another_transport() -> None:
    # A plain httpx client cannot be woken mid-read, but no read may outlast the deadline.
    with hostile(trickle(total_bytes=30, every_seconds=1.0)) as (url, _), httpx.Client() as plain:
        gateway = HttpGateway(plain, PATIENT)
        with pytest.raises(DeadlineExceededError):
            gateway.get_json(f"{url}/models", deadline_seconds=1.0)


@pytest.mark.timeout(20)
def test_a_server_that_never_answers_is_cut_at_the_deadline_not_the_read_timeout(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(silent(for_seconds=30)) as (url, _):
        gateway = HttpGateway(stoppable_client, PATIENT)
        with pytest.raises(DeadlineExceededError):
            gateway.get_json(f"{url}/models", deadline_seconds=0.5)


@pytest.mark.timeout(20)
def test_a_stop_ends_a_read_blocked_on_a_silent_server(stoppable_client: httpx.Client) -> None:
    stop = threading.Event()
    with hostile(silent(for_seconds=30)) as (url, seen):
        gateway = HttpGateway(
            stoppable_client,
            dataclasses.replace(PATIENT, total_deadline_seconds=60),
            stop_event=stop,
        )
        # The stop comes once the request is in the server's hands: the client is in recv.
        threading.Thread(target=lambda: seen.got_request.wait(10) and stop.set()).start()
        with pytest.raises(RequestInterruptedError) as raised:
            gateway.get_json(f"{url}/models")
    assert raised.value.reason == "interrupted"


@pytest.mark.timeout(20)
def test_a_stop_ends_a_trickled_body_in_mid_read(stoppable_client: httpx.Client) -> None:
    stop = threading.Event()
    with hostile(trickle(total_bytes=30, every_seconds=1.0)) as (url, seen):
        gateway = HttpGateway(
            stoppable_client,
            dataclasses.replace(PATIENT, total_deadline_seconds=60),
            stop_event=stop,
        )
        threading.Thread(target=lambda: seen.got_request.wait(10) and stop.set()).start()
        with pytest.raises(RequestInterruptedError):
            gateway.get_json(f"{url}/models")


@pytest.mark.timeout(20)
def test_a_stop_ends_a_streamed_download_between_chunks(stoppable_client: httpx.Client) -> None:
    stop = threading.Event()
    # A byte every 0.2 s: the stop after the first must come long before the last byte.
    with hostile(trickle(total_bytes=30, every_seconds=0.2)) as (url, _):
        gateway = HttpGateway(
            stoppable_client,
            dataclasses.replace(PATIENT, total_deadline_seconds=60),
            stop_event=stop,
        )
        received = bytearray()
        with pytest.raises(RequestInterruptedError):
            with gateway.stream("GET", f"{url}/file") as response:
                for chunk in response.iter_bytes(chunk_size=1):
                    received += chunk
                    stop.set()
    assert 0 < len(received) < 30


def test_a_stop_set_before_the_call_sends_nothing(stoppable_client: httpx.Client) -> None:
    stop = threading.Event()
    stop.set()
    with hostile(status(200)) as (url, seen):
        gateway = HttpGateway(stoppable_client, PATIENT, stop_event=stop)
        with pytest.raises(RequestInterruptedError):
            gateway.get_json(f"{url}/models")
    assert seen.count() == 0


@pytest.mark.timeout(20)
def test_a_declared_400_mb_body_is_refused_before_it_is_read(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(huge(declared=400 * 1024 * 1024, send_bytes=4 * 1024 * 1024)) as (url, _):
        gateway = HttpGateway(stoppable_client, PATIENT)
        with pytest.raises(ResponseTooLargeError) as raised:
            gateway.get_json(f"{url}/models", max_bytes=1024 * 1024)
    assert raised.value.reason == "too_large"
    assert "declares 419430400 bytes" in str(raised.value)


@pytest.mark.timeout(20)
def test_an_undeclared_endless_body_is_cut_at_the_endpoint_cap(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(huge(declared=None, send_bytes=64 * 1024 * 1024)) as (url, _):
        gateway = HttpGateway(
            stoppable_client, dataclasses.replace(PATIENT, max_response_bytes=2**20)
        )
        with pytest.raises(ResponseTooLargeError) as raised:
            gateway.get_json(f"{url}/models")
    assert "grew past" in str(raised.value)


@pytest.mark.parametrize("chunk_size", [64 * 1024, None], ids=["joined", "pieces"])
def test_a_stream_enforces_its_own_size_cap(
    stoppable_client: httpx.Client, chunk_size: int | None
) -> None:
    received = 0
    with hostile(huge(declared=None, send_bytes=8 * 1024 * 1024)) as (url, _):
        gateway = HttpGateway(stoppable_client, PATIENT)
        with pytest.raises(ResponseTooLargeError):
            with gateway.stream("GET", f"{url}/file", max_bytes=256 * 1024) as response:
                for chunk in response.iter_bytes(chunk_size):
                    received += len(chunk)
    assert received <= 256 * 1024


def test_a_body_read_in_pieces_is_the_whole_body(stoppable_client: httpx.Client) -> None:
    body = bytes(range(256)) * 4000
    with hostile(status(200, body)) as (url, _):
        gateway = HttpGateway(stoppable_client, PATIENT)
        with gateway.stream("GET", f"{url}/file", max_bytes=len(body)) as response:
            pieces = list(response.iter_bytes(None))
    assert b"".join(pieces) == body
    assert all(pieces)  # no empty piece


def test_a_truncated_body_is_retried_then_a_bad_response(stoppable_client: httpx.Client) -> None:
    with hostile(truncated(declared=1000, send=b'{"items": [')) as (url, seen):
        gateway = HttpGateway(stoppable_client, FAST)
        with pytest.raises(BackendError) as raised:
            gateway.get_json(f"{url}/models")
    assert raised.value.reason == "bad_response"
    assert seen.count() == FAST.max_retries + 1


def test_a_truncated_streamed_body_is_the_callers_to_resume(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(truncated(declared=1000, send=b"x" * 100)) as (url, seen):
        gateway = HttpGateway(stoppable_client, FAST)
        with pytest.raises(BackendError) as raised:
            with gateway.stream("GET", f"{url}/file") as response:
                assert response.status_code == 200
                response.read()
    assert raised.value.reason == "bad_response"
    assert seen.count() == 1


def test_a_stream_sends_its_headers_and_shows_any_status(stoppable_client: httpx.Client) -> None:
    with hostile(status(416, b"")) as (url, seen):
        gateway = HttpGateway(stoppable_client, FAST)
        with gateway.stream("GET", f"{url}/file", headers={"Range": "bytes=10-"}) as response:
            assert response.status_code == 416
            assert response.read() == b""
    assert seen.headers[0]["range"] == "bytes=10-"


def test_an_ordinary_answer_comes_through_a_stoppable_client(
    stoppable_client: httpx.Client,
) -> None:
    with hostile(status(200, b'{"items": [1, 2]}')) as (url, _):
        gateway = HttpGateway(stoppable_client, FAST)
        assert gateway.get_json(f"{url}/models").data == {"items": [1, 2]}
        assert gateway.post_json(f"{url}/chat", {"q": 1}).data == {"items": [1, 2]}


def test_a_host_name_is_looked_up_and_answered(stoppable_client: httpx.Client) -> None:
    with hostile(status(200, b'{"named": true}')) as (url, _):
        gateway = HttpGateway(stoppable_client, FAST)
        by_name = url.replace("127.0.0.1", "localhost")
        assert gateway.get_json(f"{by_name}/models").data == {"named": True}


@pytest.mark.timeout(20)
def test_a_stop_ends_a_name_lookup_that_hangs(
    stoppable_client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    looking_up = threading.Event()

    def hanging_lookup(host: str, *args: object, **kwargs: object) -> list[object]:
        looking_up.set()
        release.wait(30)  # a resolver that takes its time (bounded)
        raise socket.gaierror(f"{host}: no such name")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    stop = threading.Event()
    threading.Thread(target=lambda: looking_up.wait(10) and stop.set()).start()
    gateway = HttpGateway(stoppable_client, PATIENT, stop_event=stop)
    try:
        with pytest.raises(RequestInterruptedError):
            gateway.get_json("http://slow-resolver.invalid/models")
    finally:
        release.set()
