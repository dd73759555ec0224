"""One host state for every caller: a Retry-After of any shape never crashes and is capped,
a host that asked for a long pause or kept failing with 5xx is not asked again, and every
gateway sharing the state (backends, Qwen's tool calls, the node map, downloads) knows."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.remote.hostile import hostile, silent, status
from tests.resolve.conftest import FAST
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.hosts import HostStates
from watchman.remote.http_errors import (
    DeadlineExceededError,
    HostDownError,
    RequestInterruptedError,
    RetryLaterError,
)
from watchman.remote.retry_after import (
    RETRY_AFTER_CEILING_SECONDS,
    parse_retry_after,
    server_time,
)
from watchman.remote.transport import new_client

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client() as stoppable:
        yield stoppable


def recording(
    client: httpx.Client, hosts: HostStates | None = None, **changes: object
) -> tuple[HttpGateway, list[float]]:
    waits: list[float] = []
    options = dataclasses.replace(FAST, **changes)  # type: ignore[arg-type]
    return HttpGateway(client, options, sleep=waits.append, limiter=hosts), waits


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
        ("300000000000", RETRY_AFTER_CEILING_SECONDS),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CEILING_SECONDS),
        ("²", None),
        ("٣", None),
        ("-5", None),
        ("1e9", None),
        ("soon", None),
        ("", None),
        ("Thu, 99 Foo 2026 99:99:99 GMT", None),
        ("Mon, 01 Jan 0000 00:00:00 GMT", 0.0),  # read as the year 2000: in the past
    ],
)
def test_retry_after_of_any_shape_is_a_bounded_wait_or_ignored(
    header: str, seconds: float | None
) -> None:
    assert parse_retry_after(header, NOW) == seconds


@given(st.text(max_size=60))
def test_retry_after_never_raises_and_stays_bounded(header: str) -> None:
    seconds = parse_retry_after(header, NOW)
    assert seconds is None or 0.0 <= seconds <= RETRY_AFTER_CEILING_SECONDS


@pytest.mark.parametrize("garbage", ["²", "soon", "-1", "NaN", "inf", "1" * 400])
def test_a_429_with_a_garbage_retry_after_is_retried_with_backoff(
    client: httpx.Client, garbage: str
) -> None:
    with hostile(status(429, b"{}", {"Retry-After": garbage})) as (url, seen):
        gateway, waits = recording(client)
        with pytest.raises(BackendError) as raised:
            gateway.get_json(f"{url}/api")
    assert raised.value.reason == "rate_limited"
    assert seen.count() == FAST.max_retries + 1
    assert all(wait <= FAST.backoff_max_seconds + FAST.backoff_initial_seconds for wait in waits)


def test_a_huge_retry_after_is_capped_and_pauses_the_host_for_every_gateway(
    client: httpx.Client,
) -> None:
    hosts = HostStates(2)
    with hostile(status(429, b"{}", {"Retry-After": "300000000000"})) as (url, seen):
        civitai, _ = recording(client, hosts, retry_after_cap_seconds=60.0)
        with pytest.raises(RetryLaterError) as raised:
            civitai.get_json(f"{url}/api/v1/models")
        # Qwen's tool call goes through another gateway sharing the host state.
        tool_call, _ = recording(client, hosts)
        with pytest.raises(RetryLaterError) as again:
            tool_call.get_json(f"{url}/api/v1/models", params={"query": "x"})
    assert raised.value.retry_after_seconds == FAST.retry_after_max_seconds
    assert raised.value.reason == again.value.reason == "rate_limited"
    assert 0 < again.value.retry_after_seconds <= FAST.retry_after_max_seconds
    assert seen.count() == 1


def test_a_retry_after_http_date_an_hour_ahead_pauses_the_host(client: httpx.Client) -> None:
    in_an_hour = "Wed, 01 Jan 2098 00:00:00 GMT"
    with hostile(status(503, b"", {"Retry-After": in_an_hour})) as (url, seen):
        gateway, waits = recording(client, retry_after_max_seconds=3600.0)
        with pytest.raises(RetryLaterError) as raised:
            gateway.get_json(f"{url}/api")
        with pytest.raises(RetryLaterError):
            gateway.get_json(f"{url}/other")
    assert raised.value.retry_after_seconds == 3600.0
    assert waits == []
    assert seen.count() == 1


def test_a_retry_after_longer_than_the_deadline_is_not_waited_for(client: httpx.Client) -> None:
    with hostile(status(429, b"{}", {"Retry-After": "30"})) as (url, seen):
        gateway, waits = recording(client, retry_after_cap_seconds=60.0)
        with pytest.raises(RetryLaterError) as raised:
            gateway.get_json(f"{url}/api", deadline_seconds=5.0)
    assert waits == []
    assert raised.value.retry_after_seconds == 30.0
    assert seen.count() == 1


def test_a_5xx_storm_marks_the_host_down_and_later_calls_fail_fast(client: httpx.Client) -> None:
    hosts = HostStates(2)
    with hostile(status(503, b'{"error": "busy"}')) as (url, seen):
        first, _ = recording(client, hosts)
        with pytest.raises(BackendError) as raised:
            first.get_json(f"{url}/api/v1/models")
        assert raised.value.reason == "server_error"
        asked = seen.count()
        other, _ = recording(client, hosts)
        for path in ("/api/v1/models", "/api/v1/model-versions/by-hash/abc", "/api/download"):
            with pytest.raises(HostDownError) as down:
                other.get_json(f"{url}{path}")
            assert down.value.reason == "host_down"
        assert "HTTP 503" in str(down.value)
        assert seen.count() == asked == FAST.max_retries + 1
        # A new cycle gives the host another chance.
        other.new_run()
        with pytest.raises(BackendError):
            other.get_json(f"{url}/api/v1/models")
        assert seen.count() == asked * 2


def test_a_single_5xx_then_success_does_not_mark_the_host_down(client: httpx.Client) -> None:
    answers = iter([503, 200, 200])

    def flaky(handler, seen) -> None:  # type: ignore[no-untyped-def]
        handler.send_body(next(answers, 200), b"{}")

    with hostile(flaky) as (url, _):
        gateway, _ = recording(client)
        assert gateway.get_json(f"{url}/a").data == {}
        assert gateway.get_json(f"{url}/b").data == {}


def test_a_down_mark_expires_after_its_time() -> None:
    now = [100.0]
    hosts = HostStates(2, down_seconds=60.0, clock=lambda: now[0])
    hosts.mark_down("civitai.com", "HTTP 503 after 4 attempts")
    with pytest.raises(HostDownError):
        hosts.check("civitai.com")
    now[0] += 61
    hosts.check("civitai.com")


@pytest.mark.timeout(20)
def test_a_caller_waiting_for_a_busy_host_slot_is_bounded_by_its_deadline_and_a_stop(
    client: httpx.Client,
) -> None:
    hosts = HostStates(1)
    stop = threading.Event()
    with hostile(silent(for_seconds=30)) as (url, seen):
        busy = HttpGateway(client, FAST, limiter=hosts, stop_event=stop)
        outcomes: list[BaseException] = []

        def hold() -> None:
            try:
                busy.get_json(f"{url}/hold")
            except BackendError as error:
                outcomes.append(error)

        holder = threading.Thread(target=hold)
        holder.start()
        assert seen.got_request.wait(10)
        waiting = HttpGateway(client, FAST, limiter=hosts)
        with pytest.raises(DeadlineExceededError) as late:
            waiting.get_json(f"{url}/next", deadline_seconds=0.3)
        assert "free slot" in str(late.value)
        stopped = HttpGateway(client, FAST, limiter=hosts, stop_event=stop)
        stop.set()
        with pytest.raises(RequestInterruptedError):
            stopped.get_json(f"{url}/next")
        holder.join(10)
    assert seen.count() == 1
    assert [type(outcome) for outcome in outcomes] == [RequestInterruptedError]


def test_every_gateway_over_one_client_shares_the_host_state(client: httpx.Client) -> None:
    with hostile(status(503, b'{"error": "busy"}')) as (url, seen):
        # As the process builds them: the resolver's, the node map's, the downloads'.
        resolver_gateway = HttpGateway(client, FAST)
        downloads_gateway = HttpGateway(client, FAST)
        with pytest.raises(BackendError):
            resolver_gateway.get_json(f"{url}/api/v1/models")
        asked = seen.count()
        with pytest.raises(HostDownError):
            with downloads_gateway.stream("GET", f"{url}/api/download/models/1"):
                pass
    assert seen.count() == asked
    assert resolver_gateway.hosts is downloads_gateway.hosts


def test_gateways_over_different_clients_keep_their_own_host_state() -> None:
    with new_client() as first, new_client() as second:
        assert HttpGateway(first, FAST).hosts is not HttpGateway(second, FAST).hosts


def test_a_5xx_storm_with_a_short_retry_after_is_marked_down_too(client: httpx.Client) -> None:
    with hostile(status(503, b"", {"Retry-After": "0"})) as (url, seen):
        gateway, _ = recording(client)
        with pytest.raises(BackendError) as raised:
            gateway.get_json(f"{url}/api")
        assert raised.value.reason == "server_error"
        with pytest.raises(HostDownError):
            gateway.get_json(f"{url}/api")
    assert seen.count() == FAST.max_retries + 1


def test_a_retry_after_date_is_measured_from_the_servers_own_date_header() -> None:
    # The server's clock names both moments: a machine whose clock is off changes nothing.
    server_now = server_time("Thu, 01 Jan 2026 12:00:00 GMT")
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:45 GMT", server_now) == 45.0


def test_a_retry_after_date_without_a_date_header_to_measure_it_by_is_ignored() -> None:
    assert server_time(None) is None
    assert server_time("yesterday-ish") is None
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:45 GMT", None) is None
    assert parse_retry_after("45", None) == 45.0  # delta-seconds need no clock


@given(st.text(max_size=60), st.text(max_size=60))
def test_a_hostile_date_header_never_raises_and_measures_only_a_real_moment(
    date: str, header: str
) -> None:
    moment = server_time(date)
    assert moment is None or moment.tzinfo is not None
    seconds = parse_retry_after(header, moment)
    assert seconds is None or 0.0 <= seconds <= RETRY_AFTER_CEILING_SECONDS
