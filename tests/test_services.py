"""The one place that wires the outside world: what it builds from settings and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resolve.servers import ReplayServer, Reply, recording
from watchman.config import Settings
from watchman.cycle import run_cycle
from watchman.environment import Environment
from watchman.errors import ConfigError
from watchman.home import Home
from watchman.resolve import SearchRequest, Status
from watchman.services import USER_AGENT, build_services, with_overrides
from watchman.stages.resolve import resolve_one

WALL = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class FixedClock:
    """A machine booted long ago, never suspended, whose wall clock reads WALL."""

    def monotonic(self) -> float:
        return 50_000.0

    def boottime(self) -> float:
        return 50_000.0

    def wall(self) -> float:
        return WALL


def environment(tmp_path: Path) -> Environment:
    return Environment(environ={}, home_dir=tmp_path, cwd=tmp_path, clock=FixedClock())


def test_offline_and_the_backend_order_come_from_the_settings_alone(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "search": {"offline": True, "backend_order": ["civitai"]},
            "comfyui": {"use_server": False},
        }
    )
    with build_services(settings, environment(tmp_path), Home(tmp_path / "h")) as services:
        assert services.offline is True
        assert services.backend_order == ("civitai",)
        assert services.node_map.gateway is None  # offline: the map is never fetched
        assert services.comfyui_server is None


def test_flags_are_settings_overrides_checked_like_any_value() -> None:
    settings = with_overrides(Settings(), offline=True, backends=["huggingface"])
    assert settings.search.offline is True
    assert settings.search.backend_order == ["huggingface"]
    with pytest.raises(ConfigError, match="bing"):
        with_overrides(Settings(), backends=["bing"])


def _civitai_only(url: str) -> Settings:
    """Settings that resolve with Civitai at ``url`` alone, once, without a ComfyUI server."""
    return Settings.model_validate(
        {
            "civitai": {"base_url": url},
            "search": {"backend_order": ["civitai"], "max_retries": 0},
            "comfyui": {"use_server": False},
        }
    )


def test_a_backend_asks_through_the_one_client_that_names_the_tool(tmp_path: Path) -> None:
    with ReplayServer() as server:
        server.route("GET", "/api/v1/models", Reply(200, recording("civitai_models_search.json")))
        settings = _civitai_only(server.url)
        with build_services(settings, environment(tmp_path), Home(tmp_path / "h")) as services:
            request = SearchRequest("SD15\\DreamShaper_8_pruned.safetensors", "checkpoints")
            result = resolve_one(services, None, request)
    assert result.status is Status.FOUND
    assert server.requests
    assert {seen.headers.get("user-agent") for seen in server.requests} == {USER_AGENT}


def test_a_backend_answer_and_its_cache_entry_are_dated_by_the_environments_clock(
    tmp_path: Path,
) -> None:
    with ReplayServer() as server:
        server.route("GET", "/api/v1/models", Reply(200, recording("civitai_models_search.json")))
        settings = _civitai_only(server.url)
        home = Home(tmp_path / "h")
        with build_services(settings, environment(tmp_path), home) as services:
            request = SearchRequest("SD15\\DreamShaper_8_pruned.safetensors", "checkpoints")
            result = resolve_one(services, None, request)
    assert result.resolved_at == "2027-01-15T08:00:00Z"
    assert "2027-01-15T08:00:00" in home.resolution_cache.read_text(encoding="utf-8")


def test_the_cycle_dates_itself_and_asks_the_guards_with_the_environments_clock(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("", encoding="utf-8")
    settings = Settings.model_validate(
        {
            "comfyui": {"root": root, "use_server": False},
            "search": {"offline": True},
            "schedule": {"boot_grace_minutes": 0, "resume_grace_minutes": 0, "min_vram_gb": 0},
        }
    )
    home = Home(tmp_path / "home")
    with build_services(settings, environment(tmp_path), home) as services:
        result = run_cycle(settings, home, services=services)
    assert result.record.outcome == "ran", result.record.reason
    assert result.record.started_at == "2027-01-15T08:00:00.000Z"
