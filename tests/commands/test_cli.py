"""The command line: usage errors, the scan and config commands, and docs that match it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from watchman.commands.cli import app
from watchman.config_docs import render_default_toml

REPO = Path(__file__).resolve().parents[2]
DEMO_WORKFLOWS = REPO / "examples" / "demo-comfyui" / "user" / "default" / "workflows"


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.stdout, result.stderr


def test_two_actions_at_once_are_a_usage_error() -> None:
    code, _, err = run("--run-cycle", "--list-intake")
    assert code == 2
    assert "cannot be combined" in err


def test_an_unknown_backend_is_a_usage_error_naming_the_choices() -> None:
    code, _, err = run("--backends", "qwen,bing", "--list-intake")
    assert code == 2
    assert "bing" in err and "civitai" in err


def test_scan_prints_one_json_object_per_file_in_the_documented_shape() -> None:
    code, out, _ = run("scan", "--json", str(DEMO_WORKFLOWS))
    assert code == 0
    entries = {Path(item["path"]).name: item for item in json.loads(out)}
    assert set(entries) >= {"api_format_flux.json", "broken_download.json", "ready_sdxl.json"}
    for item in entries.values():
        assert set(item) == {
            "path",
            "format",
            "node_types",
            "model_refs",
            "embedded_models",
            "errors",
        }
    api = entries["api_format_flux.json"]
    assert api["format"] == "api"
    assert {
        "node_type": "CheckpointLoaderSimple",
        "input": "ckpt_name",
        "value": "flux1-dev-fp8.safetensors",
        "folder": "checkpoints",
        "bypassed": False,
    } in api["model_refs"]
    assert entries["broken_download.json"]["errors"]


def test_scan_of_a_path_that_does_not_exist_exits_2() -> None:
    code, _, err = run("scan", "/no/such/workflow.json")
    assert code == 2 and "does not exist" in err


def test_config_default_prints_the_shipped_sample() -> None:
    code, out, _ = run("config", "--default")
    assert code == 0
    assert out == render_default_toml()


def test_config_shows_effective_settings_without_secrets(monkeypatch) -> None:
    monkeypatch.setenv("CIVITAI_API_TOKEN", "super-secret-token")
    code, out, _ = run("config", "--json")
    assert code == 0
    assert "super-secret-token" not in out
    assert json.loads(out)["schedule"]["interval_minutes"] == 120


def _root_options() -> set[str]:
    command = typer.main.get_command(app)
    names = set()
    for parameter in command.params:
        names.update(option for option in parameter.opts if option.startswith("--"))
    return names - {"--help", "--version", "--limit"}


def test_the_readme_names_every_flag_and_command_of_the_cli() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for option in _root_options():
        assert re.search(re.escape(option) + r"(?![\w-])", readme), option
    command = typer.main.get_command(app)
    for name in command.commands:  # type: ignore[attr-defined]
        assert f"comfywatchman {name}" in readme, name


def test_every_document_the_readme_points_to_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(docs/[\w.-]+\.md)`", readme))
    assert named, "the README names its documents"
    for document in named:
        assert (REPO / document).is_file(), document


def _demo_config(target: Path, *extra: str) -> Path:
    import sys

    sys.path.insert(0, str(REPO / "examples"))
    try:
        from run_demo import prepare  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "examples"))
    config = prepare(target)
    with config.open("a", encoding="utf-8") as file:
        file.write("\n".join(extra) + "\n")
    return config


def test_a_guard_skip_names_force_and_force_runs_the_cycle_anyway(tmp_path: Path) -> None:
    # Booted less than a million years ago: the awake guard always says no.
    config = _demo_config(tmp_path / "demo")
    text = config.read_text().replace("boot_grace_minutes = 0", "boot_grace_minutes = 5e11")
    config.write_text(text)
    code, out, _ = run("--config", str(config), "--run-cycle")
    assert code == 0
    assert "skipped" in out and "--force" in out
    code, out, err = run("--config", str(config), "--run-cycle", "--force")
    assert code == 0, err
    assert "skipped" not in out
    assert (tmp_path / "demo/home/output/reports/status/master_status.md").exists()


def test_force_without_run_cycle_is_a_usage_error() -> None:
    code, _, err = run("--force", "--list-intake")
    assert code == 2 and "--force" in err
