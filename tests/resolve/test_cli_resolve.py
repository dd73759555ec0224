"""``comfywatchman resolve NAME`` run in-process against local servers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from watchman.commands.cli import app

from .servers import ReplayServer
from .test_civitai import serve_civitai_search


def environment(tmp_path: Path, civitai: str) -> dict[str, str]:
    return {
        "COMFYWATCHMAN_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COMFYWATCHMAN_CIVITAI__BASE_URL": civitai,
        "COMFYWATCHMAN_QWEN__BASE_URL": f"{civitai}/v1",
        "COMFYWATCHMAN_SEARCH__MAX_RETRIES": "0",
    }


def test_resolve_prints_a_found_result_as_json(server: ReplayServer, tmp_path: Path) -> None:
    serve_civitai_search(server)
    result = CliRunner().invoke(
        app,
        [
            "resolve",
            "SD15\\DreamShaper_8_pruned.safetensors",
            "--folder",
            "checkpoints",
            "--backends",
            "civitai",
            "--json",
        ],
        env=environment(tmp_path, server.url),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "FOUND"
    assert (document["backend"], document["folder"], document["subfolder"]) == (
        "civitai",
        "checkpoints",
        "SD15",
    )
    assert server.count("/v1/chat/completions") == 0
    assert (tmp_path / "home" / "state" / "resolution_cache.json").is_file()


def test_resolve_offline_asks_nothing_and_says_so(server: ReplayServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["resolve", "other.safetensors", "--offline"], env=environment(tmp_path, server.url)
    )
    assert result.exit_code == 0, result.output
    assert "NOT_FOUND" in result.stdout and "offline" in result.stdout
    assert server.count() == 0


def test_resolve_refuses_an_unknown_backend(server: ReplayServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["resolve", "a.safetensors", "--backends", "bing"],
        env=environment(tmp_path, server.url),
    )
    assert result.exit_code == 2
    assert server.count() == 0
    # Refused once, by the settings model, in one sentence naming the flag.
    assert result.stderr.count("bing") == 1, result.stderr
    assert "--backends" in result.stderr and "search.backend_order" in result.stderr


def test_a_config_file_naming_an_unknown_backend_is_refused_naming_the_key_and_file(
    server: ReplayServer, tmp_path: Path
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[search]\nbackend_order = ["civitai", "bing"]\n', encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "resolve", "a.safetensors", "--offline"],
        env=environment(tmp_path, server.url),
    )
    assert result.exit_code == 2
    assert result.stderr.count("bing") == 1, result.stderr
    assert "search.backend_order" in result.stderr and str(config) in result.stderr
