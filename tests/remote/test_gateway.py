"""The shared HTTP path: retries with backoff, Retry-After, timeouts, bad bodies, per-host
limits and tokens that never cross hosts, all over real sockets on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timezone

import httpx
import pytest

from tests.resolve.conftest import FAST
from tests.resolve.servers import LATE, ReplayServer, Reply, refused_url
from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import HttpStatusError, RetryLaterError
from watchman.remote.origins import credentials_key
from watchman.remote.retry_after import parse_retry_after


def recording_gateway(client: httpx.Client, **changes: object) -> tuple[HttpGateway, list[float]]:
    waits: list[float] = []
    options = dataclasses.replace(FAST, **changes)  # type: ignore[arg-type]
    return HttpGateway(client, options, sleep=waits.append), waits


def test_a_429_with_retry_after_within_the_cap_is_waited_out_then_the_answer_is_used(
    server: ReplayServer, client: httpx.Client
) -> None:
    server.route(
        "GET",
        "/api",
        Reply(429, {"error": "slow down"}, {"Retry-After": "7"}),
        Reply(200, {"ok": True}),
    )
    gateway, waits = recording_gateway(client, retry_after_cap_seconds=10.0)
    answer = gateway.get_json(f"{server.url}/api")
    assert answer.data == {"ok": True}
    assert server.count("/api") == 2
    assert waits == [7.0]


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_cap_gives_up_at_once_as_rate_limited(
    server: ReplayServer, client: httpx.Client, status: int
) -> None:
    server.route(
        "GET",
        "/api",
        Reply(status, {"error": "slow down"}, {"Retry-After": "3600"}),
        Reply(200, {}),
    )
    gateway, waits = recording_gateway(client, retry_after_cap_seconds=60.0)
    with pytest.raises(RetryLaterError) as raised:
        gateway.get_json(f"{server.url}/api")
    # The host asked for an hour: it is not asked again after a minute.
    assert server.count("/api") == 1
    assert waits == []
    assert raised.value.reason == "rate_limited"
    assert raised.value.retry_after_seconds == 3600.0


def test_a_retry_after_below_the_cap_is_honoured_as_given(
    server: ReplayServer, client: httpx.Client
) -> None:
    server.route("GET", "/api", Reply(429, None, {"Retry-After": "2"}), Reply(200, []))
    gateway, waits = recording_gateway(client, retry_after_cap_seconds=60.0)
    gateway.get_json(f"{server.url}/api")
    assert waits == [2.0]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_a_500_then_success_returns_the_success(server: ReplayServer, gateway: HttpGateway) -> None:
    server.route("GET", "/api", Reply(500, "oops"), Reply(200, {"items": []}))
    assert gateway.get_json(f"{server.url}/api").data == {"items": []}
    assert server.count("/api") == 2


def test_retries_are_bounded_and_end_in_a_reasoned_error(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api", Reply(503, {"error": "Server busy, please retry shortly."}))
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{server.url}/api")
    assert raised.value.reason == "server_error"
    assert server.count("/api") == FAST.max_retries + 1


def test_persistent_429_is_rate_limited(server: ReplayServer, gateway: HttpGateway) -> None:
    server.route("GET", "/api", Reply(429, {"error": "too many"}))
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{server.url}/api")
    assert raised.value.reason == "rate_limited"


def test_a_timeout_is_retried_and_then_the_answer_is_used(
    server: ReplayServer, client: httpx.Client
) -> None:
    server.route(
        "GET", "/slow", Reply(200, {"late": True}, delay=LATE), Reply(200, {"late": False})
    )
    gateway, _ = recording_gateway(client, timeout_seconds=0.2)
    assert gateway.get_json(f"{server.url}/slow").data == {"late": False}
    assert server.count("/slow") == 2


def test_a_server_that_never_answers_in_time_gives_a_timeout_error(
    server: ReplayServer, client: httpx.Client
) -> None:
    server.route("GET", "/slow", Reply(200, {}, delay=LATE))
    gateway, _ = recording_gateway(client, timeout_seconds=0.1, max_retries=1)
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{server.url}/slow")
    assert raised.value.reason == "timeout"


def test_malformed_json_is_a_bad_response(server: ReplayServer, gateway: HttpGateway) -> None:
    server.route("GET", "/api", Reply(200, b'{"items": [1, 2'))
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{server.url}/api")
    assert raised.value.reason == "bad_response"
    assert server.count("/api") == 1


def test_error_statuses_carry_their_status_and_body(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/missing", Reply(404, {"error": "No model with id 0"}))
    server.route("GET", "/private", Reply(401, {"error": "Unauthorized"}))
    with pytest.raises(HttpStatusError) as missing:
        gateway.get_json(f"{server.url}/missing")
    assert (missing.value.reason, missing.value.status_code) == ("not_found", 404)
    assert missing.value.body == {"error": "No model with id 0"}
    with pytest.raises(HttpStatusError) as private:
        gateway.get_json(f"{server.url}/private")
    assert private.value.reason == "auth_required"


def test_connection_refused_is_unreachable_at_once(client: httpx.Client) -> None:
    waits: list[float] = []
    gateway = HttpGateway(client, FAST, sleep=waits.append)
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{refused_url()}/api")
    assert raised.value.reason == "unreachable"
    assert waits == []


def test_a_token_is_sent_to_its_host_and_not_across_a_redirect(
    server: ReplayServer, second_server: ReplayServer, client: httpx.Client
) -> None:
    server.route(
        "GET", "/api/download", Reply(302, None, {"Location": f"{second_server.url}/file"})
    )
    second_server.route("GET", "/file", Reply(200, {"served": True}))
    credentials = {credentials_key(server.url): {"Authorization": "Bearer secret-token"}}
    gateway = HttpGateway(client, FAST, credentials)
    assert gateway.get_json(f"{server.url}/api/download").data == {"served": True}
    assert server.requests[0].headers["authorization"] == "Bearer secret-token"
    assert "authorization" not in second_server.requests[0].headers


def test_requests_to_one_host_stay_within_the_concurrency_limit(
    server: ReplayServer, client: httpx.Client
) -> None:
    server.route("GET", "/api", Reply(200, {}, delay=0.05))
    gateway, _ = recording_gateway(client, per_host_concurrency=2)
    threads = [
        threading.Thread(target=gateway.get_json, args=(f"{server.url}/api",)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.count("/api") == 6
    assert server.max_in_flight <= 2


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://civitai.com/api/v1/models", True),
        ("https://CIVITAI.com:443/api/download/models/1", True),
        # A redirect from https to http on the same host must not carry the token in clear.
        ("http://civitai.com/api/download/models/1", False),
        ("http://civitai.com:443/api/download/models/1", False),
        ("https://civitai.com:8443/api", False),
        ("https://cdn.civitai.com/file", False),
    ],
)
def test_a_token_applies_only_to_its_own_scheme_host_and_port(
    client: httpx.Client, url: str, sent: bool
) -> None:
    token = {"Authorization": "Bearer secret-token"}
    gateway = HttpGateway(client, FAST, {credentials_key("https://civitai.com"): token})
    assert gateway.headers_for(url) == (token if sent else {})


def test_a_token_for_a_local_http_server_applies_to_that_server_only(client: httpx.Client) -> None:
    token = {"Authorization": "Bearer secret-token"}
    gateway = HttpGateway(client, FAST, {credentials_key("http://127.0.0.1:8188/v1"): token})
    assert gateway.headers_for("http://127.0.0.1:8188/v1/chat/completions") == token
    assert gateway.headers_for("https://127.0.0.1:8188/v1/chat/completions") == {}
    assert gateway.headers_for("http://127.0.0.1:8189/v1/chat/completions") == {}
