"""Tokens appear in no output: not in our log lines, not in httpx's or httpcore's at DEBUG,
not when a server echoes them back in its headers, not in error messages, and never sent
to another host after a redirect."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.remote.hostile import echoing, hostile, status
from tests.resolve.conftest import FAST
from watchman import redaction
from watchman.errors import BackendError
from watchman.redaction import REDACTED, RedactingFilter, redact, redact_url
from watchman.remote.gateway import HttpGateway
from watchman.remote.origins import credentials_key
from watchman.remote.transport import new_client

TOKEN = "cw-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
HF_TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client() as stoppable:
        yield stoppable


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "watchman"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_a_token_echoed_in_response_headers_is_in_no_debug_log_line(
    client: httpx.Client, debug_logs: pytest.LogCaptureFixture
) -> None:
    with hostile(echoing(("X-Echo", "X-Debug-Authorization", "WWW-Authenticate"))) as (url, seen):
        gateway = HttpGateway(
            client, FAST, {credentials_key(url): {"Authorization": f"Bearer {TOKEN}"}}
        )
        answer = gateway.get_json(f"{url}/api/v1/models")
    assert seen.headers[0]["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN in answer.headers["x-echo"]  # the data is untouched; only logs are redacted
    text = debug_logs.text
    assert "receive_response_headers" in text  # httpcore's DEBUG lines were captured
    assert TOKEN not in text
    assert REDACTED in text
    assert all(TOKEN not in record.getMessage() for record in debug_logs.records)


def test_token_query_parameters_are_redacted_from_every_log_line(
    client: httpx.Client, debug_logs: pytest.LogCaptureFixture
) -> None:
    with hostile(status(200)) as (url, _):
        gateway = HttpGateway(client, FAST)
        gateway.get_json(f"{url}/api/download/models/1?token={TOKEN}&type=Model")
        gateway.get_json(f"{url}/resolve", params={"api_key": HF_TOKEN, "q": "x"})
    assert "HTTP Request" in debug_logs.text  # httpx's own request line was captured
    assert TOKEN not in debug_logs.text
    assert HF_TOKEN not in debug_logs.text
    assert "type=Model" in debug_logs.text


def test_a_token_in_the_url_is_not_in_the_error_message(client: httpx.Client) -> None:
    with hostile(status(500)) as (url, _):
        gateway = HttpGateway(client, FAST)
        with pytest.raises(BackendError) as raised:
            gateway.get_json(f"{url}/api/download/models/1?token={TOKEN}")
    assert TOKEN not in str(raised.value)
    assert "token=[redacted]" in str(raised.value)


def test_a_redirect_to_another_host_drops_the_token(
    client: httpx.Client, debug_logs: pytest.LogCaptureFixture
) -> None:
    with hostile(status(200, b'{"served": true}')) as (other, other_seen):
        redirect = status(302, b"", {"Location": f"{other}/file?sig={TOKEN}"})
        with hostile(redirect) as (url, seen):
            credentials = {credentials_key(url): {"Authorization": f"Bearer {TOKEN}"}}
            gateway = HttpGateway(client, FAST, credentials)
            assert gateway.get_json(f"{url}/api/download").data == {"served": True}
    assert seen.headers[0]["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in other_seen.headers[0]
    assert TOKEN not in debug_logs.text


def test_an_exception_logged_with_its_traceback_is_redacted(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    redaction.install()
    try:
        raise ValueError(f"GET https://civitai.com/api?token={TOKEN} failed")
    except ValueError:
        logging.getLogger("watchman.test").exception("lookup failed")
    assert TOKEN not in debug_logs.text
    record = debug_logs.records[-1]
    assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in logging.Formatter().format(record)


@pytest.mark.parametrize(
    "line",
    [
        f"Authorization: Bearer {TOKEN}",
        f"{{'authorization': 'Bearer {TOKEN}', 'accept': '*/*'}}",
        f"[(b'X-Api-Key', b'{TOKEN}'), (b'Content-Type', b'application/json')]",
        f"(b'Set-Cookie', b'session={TOKEN}; Path=/')",
        f"Cookie: session={TOKEN}",
        f"GET https://civitai.com/api/download/models/1?type=Model&token={TOKEN}",
        f"https://example.com/x?key={TOKEN}",
        f"https://example.com/x?access_token={TOKEN}#frag",
        f"https://s3.example.com/f?X-Amz-Signature={TOKEN}&X-Amz-Date=1",
        f"using {HF_TOKEN} for the Hub",
        f"Basic {TOKEN}",
    ],
)
def test_secret_shapes_are_redacted_without_knowing_the_secret(line: str) -> None:
    cleaned = redact(line)
    assert TOKEN not in cleaned
    assert HF_TOKEN not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "GET https://civitai.com/api/v1/models?query=flux&limit=20",
        "the token was not configured; set CIVITAI_API_TOKEN",
        "sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "127.0.0.1:8188 is unreachable",
        "x.json was unreadable (not valid JSON: expected a string key: line 1); rebuilding",
        "cache key: civitai|loras|a.safetensors",
        "{'model_key': 'loras/a.safetensors', 'folder': 'loras'}",
        "the token is missing: set HF_TOKEN",
    ],
)
def test_ordinary_lines_are_left_as_they_are(line: str) -> None:
    assert redact(line) == line


def test_a_registered_secret_is_redacted_under_any_name() -> None:
    secret = "zq-unique-4471-secret-value"
    redaction.register_secret(f"Bearer {secret}")
    assert redact(f"X-Whatever: {secret}") == f"X-Whatever: {REDACTED}"
    assert secret not in redact(f"echoed {secret} back")


def test_user_and_password_in_a_url_are_redacted() -> None:
    assert redact_url("https://me:pa55w0rd@mirror.example/x") == (
        f"https://{REDACTED}@mirror.example/x"
    )


def test_a_handler_filter_redacts_records_made_before_install() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s", (f"/x?token={TOKEN}",), None
    )
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()


@pytest.mark.timeout(60)
def test_resolve_under_debug_prints_no_token_a_server_echoes(tmp_path: Path) -> None:
    """The command line end to end, in its own process: --debug logs every request,
    httpx's and httpcore's lines included, and still shows the token nowhere."""
    project = Path(__file__).resolve().parents[2]
    with hostile(echoing(("X-Echo", "X-Auth-Token"))) as (url, seen):
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "COMFYWATCHMAN_HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "COMFYWATCHMAN_CIVITAI__BASE_URL": url,
            "COMFYWATCHMAN_SEARCH__MAX_RETRIES": "0",
            "CIVITAI_API_TOKEN": TOKEN,
        }
        command = ["--debug", "resolve", "a_lora.safetensors", "--backends", "civitai", "--json"]
        finished = subprocess.run(
            [sys.executable, "-m", "watchman", *command],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )
    assert seen.count() >= 1
    assert seen.headers[0].get("authorization") == f"Bearer {TOKEN}"
    assert "DEBUG" in finished.stderr  # the debug lines were written
    assert TOKEN not in finished.stdout
    assert TOKEN not in finished.stderr


def test_a_log_call_whose_argument_cannot_be_shown_still_logs_and_never_raises(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    redaction.install()
    logging.getLogger("watchman.test").warning("value %s with token=%s", Unprintable(), TOKEN)
    logging.getLogger("watchman.test").warning("%d items", "not a number")
    assert "unformattable arguments" in debug_logs.text
    assert TOKEN not in debug_logs.text
