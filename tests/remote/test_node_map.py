"""Where the extension-node-map comes from: the install, the kept copy, or a fetch through
the gateway, over a real socket on 127.0.0.1."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.local_http import LocalServer, QuietHandler, answering, refused_url
from watchman.config import Settings
from watchman.environment import Environment
from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_options import HttpOptions
from watchman.remote.node_map import NodeMapSource
from watchman.services import USER_AGENT, build_services

IMPACT = "https://github.com/ltdrdata/ComfyUI-Impact-Pack"
SMALL_MAP = {IMPACT: [["FaceDetailer", "SAMLoader"], {"title_aux": "ComfyUI Impact Pack"}]}
NOW = 2_000_000_000.0  # the fake wall clock: long after any file's mtime set below


class FixedClock:
    def monotonic(self) -> float:
        return 0.0

    def boottime(self) -> float:
        return 0.0

    def wall(self) -> float:
        return NOW


def write_map(path: Path, document: object, mtime: float = NOW) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    os.utime(path, (mtime, mtime))
    return path


def source(
    state_path: Path, url: str = "http://unused", client: httpx.Client | None = None
) -> NodeMapSource:
    gateway = None if client is None else HttpGateway(client, HttpOptions(max_retries=0))
    return NodeMapSource(gateway, url, 24, state_path, FixedClock())


class MapServer:
    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps(SMALL_MAP).encode()
        self.requests = 0


@pytest.fixture
def map_server() -> Iterator[tuple[MapServer, str]]:
    state = MapServer()

    def respond(path: str) -> tuple[int, bytes]:
        state.requests += 1
        return state.status, state.body

    with answering(respond) as server:
        yield state, f"{server.url}/extension-node-map.json"


def test_an_installed_manager_wins_over_state_and_network(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    write_map(root / "custom_nodes" / "comfyui-manager" / "extension-node-map.json", SMALL_MAP)
    loaded = source(tmp_path / "state.json").load(root)
    assert loaded is not None
    assert loaded.lookup("FaceDetailer").status == "found"
    assert "comfyui-manager" in loaded.source


def test_a_fetched_map_is_saved_and_reused_while_fresh(
    tmp_path: Path, map_server: tuple[MapServer, str]
) -> None:
    server, url = map_server
    state_path = tmp_path / "state" / "extension-node-map.json"
    with httpx.Client(timeout=5) as client:
        first = source(state_path, url, client).load(tmp_path)
        assert first is not None and first.source == url
        assert json.loads(state_path.read_bytes()) == SMALL_MAP
        os.utime(state_path, (NOW - 3600, NOW - 3600))  # kept an hour ago: still fresh
        second = source(state_path, url, client).load(tmp_path)
    assert second is not None and second.source == str(state_path)
    assert server.requests == 1


def test_an_expired_copy_is_fetched_again(
    tmp_path: Path, map_server: tuple[MapServer, str]
) -> None:
    server, url = map_server
    state_path = write_map(tmp_path / "state.json", {IMPACT: [["OldOnly"], {}]}, 1_000_000)
    with httpx.Client(timeout=5) as client:
        loaded = source(state_path, url, client).load(tmp_path)
    assert loaded is not None and loaded.lookup("FaceDetailer").status == "found"
    assert server.requests == 1


@pytest.mark.parametrize(("status", "body"), [(500, b"{}"), (200, b"{not json"), (200, b"{}")])
def test_a_failed_fetch_falls_back_to_the_stale_copy(
    tmp_path: Path, map_server: tuple[MapServer, str], status: int, body: bytes
) -> None:
    server, url = map_server
    server.status, server.body = status, body
    state_path = write_map(tmp_path / "state.json", SMALL_MAP, 1_000_000)
    with httpx.Client(timeout=5) as client:
        loaded = source(state_path, url, client).load(tmp_path)
    assert loaded is not None and loaded.source == str(state_path)
    assert json.loads(state_path.read_bytes()) == SMALL_MAP


class UserAgentHandler(QuietHandler):
    heard: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.heard.append(self.headers.get("User-Agent", ""))
        self.send_body(200, json.dumps(SMALL_MAP).encode())


def test_the_wired_fetch_names_the_tool_and_its_version(tmp_path: Path) -> None:
    with LocalServer(UserAgentHandler) as server:
        settings = Settings.model_validate(
            {"nodes": {"extension_node_map_url": f"{server.url}/map.json"}}
        )
        environment = Environment(environ={}, home_dir=tmp_path, cwd=tmp_path)
        with build_services(settings, environment, Home(tmp_path / "home")) as services:
            loaded = services.node_map.load(tmp_path)
    assert loaded is not None
    assert UserAgentHandler.heard == [USER_AGENT]
    assert USER_AGENT.startswith("comfywatchman/")


def test_an_unreachable_url_without_any_copy_gives_none(tmp_path: Path) -> None:
    with httpx.Client(timeout=2) as client:
        loaded = source(tmp_path / "state.json", f"{refused_url()}/map.json", client)
        assert loaded.load(tmp_path) is None


def test_offline_without_any_copy_gives_none(tmp_path: Path) -> None:
    assert source(tmp_path / "s.json").load(tmp_path) is None
