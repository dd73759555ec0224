"""Fixtures of the resolution tests: local replay servers, a client, fast HTTP options."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from watchman.config import Settings
from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_options import HttpOptions
from watchman.resolve import KnownSources, Resolver, build_resolver

from .servers import CORPUS, ReplayServer

# Tiny waits: the retry logic runs for real, the suite stays fast. The read timeout is
# long: a local server always answers, and a timeout that fired because a loaded machine
# starved a test would retry and break the request counts (timeout tests set their own).
FAST = HttpOptions(
    timeout_seconds=10.0,
    max_retries=2,
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.02,
    retry_after_cap_seconds=0.05,
)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


@pytest.fixture
def second_server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http_client:
        yield http_client


@pytest.fixture
def gateway(client: httpx.Client) -> HttpGateway:
    return HttpGateway(client, FAST)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


@pytest.fixture
def corpus_api() -> Path:
    folder = CORPUS / "api"
    if not folder.is_dir():
        pytest.skip(f"../shared/corpus is absent: {folder} holds the recorded API responses")
    return folder


def settings_for(
    *,
    civitai: str = "http://127.0.0.1:9",
    huggingface: str = "http://127.0.0.1:9",
    qwen: str = "http://127.0.0.1:9/v1",
    order: tuple[str, ...] = ("qwen", "civitai"),
) -> Settings:
    """Return settings pointing every backend at local servers."""
    return Settings.model_validate(
        {
            "civitai": {"base_url": civitai},
            "huggingface": {"base_url": huggingface},
            "qwen": {"base_url": qwen, "connect_timeout_seconds": 1.0, "timeout_seconds": 2.0},
            "search": {"backend_order": list(order), "max_parallel_models": 3},
        }
    )


def resolver_for(settings: Settings, home: Home, client: httpx.Client, **options: Any) -> Resolver:
    """Return ``build_resolver(settings, home, ...)`` with an empty known-sources
    catalogue, the FAST HTTP options, and offline and the backend order from ``settings``
    (as ``Services`` passes them); ``options`` add to or replace those arguments."""
    arguments: dict[str, Any] = {
        "known_sources": KnownSources(),
        "http_options": FAST,
        "offline": settings.search.offline,
        "backend_order": settings.search.backend_order,
        "wall": time.time,
    }
    return build_resolver(settings, home, client=client, **{**arguments, **options})
