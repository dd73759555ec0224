"""The command line: usage errors, the scan and config commands, and docs that match it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from watchman.commands.cli import app
from watchman.config_docs import render_default_toml
from watchman.environment import Environment

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
    code, _, err = run("--backends", "qwen,bing", "--run-cycle")
    assert code == 2
    assert "bing" in err and "civitai" in err


def test_scan_prints_one_json_object_per_file_in_the_documented_shape() -> None:
    code, out, _ = run("scan", "--json", str(DEMO_WORKFLOWS))
    assert code == 1  # broken_download.json cannot be parsed
    entries = {Path(item["path"]).name: item for item in json.loads(out)}
    assert set(entries) >= {"api_format_flux.json", "broken_download.json", "ready_sdxl.json"}
    for item in entries.values():
        assert set(item) == {
            "path",
            "format",
            "node_types",
            "model_refs",
            "input_files",
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
        "inferred": False,
        "bypassed": False,
    } in [{k: v for k, v in ref.items() if k != "node_id"} for ref in api["model_refs"]]
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
    assert json.loads(out)["settings"]["schedule"]["interval_minutes"] == 120


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


def test_a_guard_skip_names_force_and_force_runs_the_cycle_anyway(tmp_path: Path) -> None:
    # Booted less than a million years ago: the awake guard always says no.
    config = prepare_demo(tmp_path / "demo")
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


def _normal(text: str) -> str:
    return " ".join(text.split())


SCAN_EXIT = (
    "Exit 0 every file was read, 1 a file could not be read or parsed (listed with its "
    "error), 2 a path does not exist or bad usage."
)
RESOLVE_EXIT = (
    "Exit 0 the lookup was made (FOUND, UNCERTAIN or NOT_FOUND), 1 it ended in ERROR (a "
    "source could not be asked), 2 bad config or usage."
)


def test_options_with_nothing_to_do_are_a_usage_error_not_help() -> None:
    code, _, err = run("--limit", "3")
    assert code == 2 and "nothing to do" in err
    code, out, _ = run()
    assert code == 0 and "Usage" in out


def test_help_texts_show_no_placeholders() -> None:
    command = typer.main.get_command(app)
    texts = [run("--help")[1]] + [run(name, "--help")[1] for name in command.commands]  # type: ignore[attr-defined]
    for text in texts:
        assert not re.search(r"<[a-z][\w\[\], ]*>|\{[a-z_]+\}", text), text


def test_scan_and_resolve_exit_statuses_read_the_same_in_help_and_readme() -> None:
    readme = _normal((REPO / "README.md").read_text(encoding="utf-8"))
    for command, sentence in (("scan", SCAN_EXIT), ("resolve", RESOLVE_EXIT)):
        assert sentence in _normal(run(command, "--help")[1]), command
        assert sentence in readme, command


def test_scan_exits_1_when_a_file_cannot_be_read_and_shows_paths_inside_the_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    good = tmp_path / "sub" / "good.json"
    good.write_text((DEMO_WORKFLOWS / "ready_sdxl.json").read_text())
    (tmp_path / "bad.json").write_text("{not json")
    code, out, _ = run("scan", str(tmp_path))
    assert code == 1 and "bad.json" in out
    assert "sub/good.json" in out and str(tmp_path / "sub") not in out
    assert run("scan", str(good))[0] == 0


def test_json_before_a_subcommand_is_honoured() -> None:
    code, out, _ = run("--json", "scan", str(DEMO_WORKFLOWS / "ready_sdxl.json"))
    assert code == 0
    assert [Path(item["path"]).name for item in json.loads(out)] == ["ready_sdxl.json"]


def test_resolve_takes_options_after_it_and_exits_1_on_error(tmp_path: Path) -> None:
    from tests.local_http import refused_url

    config = prepare_demo(
        tmp_path / "demo",
        "[civitai]",
        f'base_url = "{refused_url()}"',
    )
    text = config.read_text().replace(
        "offline = true", 'backend_order = ["civitai"]\nmax_retries = 0'
    )
    config.write_text(text)
    root = tmp_path / "demo" / "ComfyUI"
    arguments = ["never_heard_of.safetensors", "--folder", "loras", "--json"]
    code, out, err = run(
        "resolve", *arguments, "--config", str(config), "--comfyui-root", str(root)
    )
    assert code == 1, err
    assert json.loads(out)["status"] == "ERROR"
    code, out, err = run("resolve", *arguments, "--offline", "--config", str(config))
    assert code == 0, err
    assert json.loads(out)["status"] == "NOT_FOUND"


def test_status_and_config_take_config_after_the_command(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo")
    code, out, err = run("status", "--config", str(config), "--json")
    assert code == 0, err
    assert json.loads(out)["home"] == str(tmp_path / "demo" / "home")
    code, out, err = run("config", "--json", "--config", str(config))
    assert code == 0, err
    assert json.loads(out)["settings"]["search"]["offline"] is True


def _progress_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [
        document
        for document in (json.loads(line) for line in lines if line.startswith("{"))
        if document.get("event") == "progress"
    ]


def _check_one_line_per_step(lines: list[dict[str, Any]], every_step: bool = True) -> None:
    phases = [line["phase"] for line in lines if "done" not in line]
    assert phases[0] == "inventory" and "resolve" in phases and phases[-1] == "report"
    counted = [
        (line["done"], line["total"])
        for line in lines
        if line["phase"] == "resolve" and "done" in line
    ]
    assert counted and counted[-1][0] == counted[-1][1] >= 1
    done = [done for done, _ in counted]
    if every_step:
        assert done == list(range(1, len(counted) + 1))
    else:  # the log: the first and the last step, and one a second between
        assert done[0] == 1 and done == sorted(set(done))


def test_without_a_terminal_the_steps_are_json_lines_in_the_structured_log_not_stderr(
    tmp_path: Path,
) -> None:
    # Under cron, whatever reaches stderr is mailed: the progress lines go to the log.
    config = prepare_demo(tmp_path / "demo")
    code, _, err = run("--config", str(config), "--run-cycle")
    assert code == 0, err
    assert _progress_lines(err.splitlines()) == []
    log = tmp_path / "demo" / "home" / "log" / "structured.log"
    _check_one_line_per_step(_progress_lines(log.read_text().splitlines()), every_step=False)


def test_progress_writes_the_lines_to_stderr_too_when_asked(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo")
    code, _, err = run("--config", str(config), "--run-cycle", "--progress")
    assert code == 0, err
    _check_one_line_per_step(_progress_lines(err.splitlines()))


def test_quiet_prints_nothing_for_a_cycle_that_ran_or_was_skipped(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo")
    assert run("--config", str(config), "--run-cycle", "--quiet") == (0, "", "")
    text = config.read_text().replace("boot_grace_minutes = 0", "boot_grace_minutes = 5e11")
    config.write_text(text)
    assert run("--config", str(config), "--run-cycle", "-q") == (0, "", "")


def test_progress_without_run_cycle_is_a_usage_error() -> None:
    code, _, err = run("--list-intake", "--no-progress")
    assert code == 2 and "--no-progress does nothing with --list-intake" in err


def test_config_shows_where_each_value_came_from_and_the_home_and_comfyui(
    tmp_path: Path,
) -> None:
    config = prepare_demo(tmp_path / "demo")
    result = CliRunner().invoke(
        app,
        ["--offline", "config", "--config", str(config)],
        env={"COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES": "30"},
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert (
        "interval_minutes = 30.0  # environment (COMFYWATCHMAN_SCHEDULE__INTERVAL_MINUTES)" in out
    )
    assert "min_vram_gb = 0.0  # file" in out
    assert "offline = true  # flag" in out
    assert "max_retries = 3  # default" in out
    assert f"# home: {tmp_path / 'demo' / 'home'} (file: paths.home)" in out
    assert f"# ComfyUI: {tmp_path / 'demo' / 'ComfyUI'} (file)" in out
    assert "# ComfyUI's files" not in out  # the root holds them


def test_config_shows_where_comfyuis_files_are_when_not_in_its_folder(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo", "")
    (tmp_path / "demo" / "data").mkdir()
    text = config.read_text().replace("[comfyui]\n", '[comfyui]\nbase_directory = "../data"\n')
    config.write_text(text)
    result = CliRunner().invoke(app, ["config", "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    data = tmp_path / "demo" / "data"
    assert f"# ComfyUI's files: {data} (comfyui.base_directory)" in result.stdout
    shown = json.loads(
        CliRunner().invoke(app, ["config", "--json", "--config", str(config)]).stdout
    )
    assert shown["comfyui_root"]["files"] == str(data)


def _comfyui(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("")
    (folder / "nodes.py").write_text("")
    return folder


def _config_json(tmp_path: Path, *arguments: str, **environ: str) -> dict[str, Any]:
    out = io.StringIO()
    environment = Environment(
        environ=environ, home_dir=tmp_path / "user", cwd=tmp_path, platform="linux", stdout=out
    )
    result = CliRunner().invoke(app, [*arguments, "config", "--json"], obj=environment)
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def test_config_json_says_where_each_value_the_home_and_the_comfyui_folder_came_from(
    tmp_path: Path,
) -> None:
    root = _comfyui(tmp_path / "elsewhere" / "ComfyUI")
    shown = _config_json(
        tmp_path,
        "--comfyui-root",
        str(root),
        "--offline",
        COMFYWATCHMAN_HOME=str(tmp_path / "state"),
        COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB="6",
    )
    assert shown["settings"]["schedule"]["min_vram_gb"] == 6
    sources = shown["sources"]
    assert sources["schedule"]["min_vram_gb"] == {
        "from": "environment",
        "detail": "COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB",
    }
    assert sources["search"]["offline"] == {"from": "flag"}
    assert sources["schedule"]["interval_minutes"] == {"from": "default"}
    assert shown["home"] == {
        "path": str(tmp_path / "state"),
        "from": "environment",
        "detail": "COMFYWATCHMAN_HOME",
    }
    assert shown["comfyui_root"] == {"path": str(root), "from": "flag"}
    assert shown["config_file"] is None


def test_config_names_the_detected_comfyui_folder_and_the_platform_home(tmp_path: Path) -> None:
    root = _comfyui(tmp_path / "ComfyUI")  # the current folder's ComfyUI/ child
    shown = _config_json(tmp_path)
    assert shown["comfyui_root"] == {
        "path": str(root),
        "from": "detected",
        "detail": "common location",
    }
    assert shown["home"]["from"] == "platform default"
    assert shown["home"]["path"] == str(tmp_path / "user" / ".local" / "state" / "comfywatchman")


def test_config_names_every_install_found_the_launchers_shared_models_and_its_notes(
    tmp_path: Path,
) -> None:
    user = tmp_path / "user"
    listed = _comfyui(user / "ComfyUI-Installs" / "Main" / "ComfyUI")
    data = user / ".local" / "share" / "comfyui-desktop-2"
    data.mkdir(parents=True)
    entry = {
        "id": "i",
        "name": "Main",
        "installPath": str(listed.parent),
        "sourceId": "standalone",
        "launchArgs": "--base-directory files",
    }
    (listed.parent / "files").mkdir()
    (data / "installations.json").write_text(json.dumps([entry]), encoding="utf-8")
    shared = data / "shared_model_paths.yaml"
    shared.write_text("comfyui_desktop_2_0:\n  base_path: /shared\n", encoding="utf-8")
    library_file = user / ".config" / "StabilityMatrix" / "library.json"
    library_file.parent.mkdir(parents=True)
    library_file.write_text("{", encoding="utf-8")
    origin = f"ComfyUI Desktop 2.0's installation 'Main' in {data / 'installations.json'}"
    note = f"Stability Matrix's library.json {library_file} is not JSON; its entries are not read."
    shown = _config_json(tmp_path)["comfyui_root"]
    assert shown == {
        "path": str(listed),
        "from": "detected",
        "detail": origin,
        "files": str(listed.parent / "files"),
        "files_from": f"--base-directory in the launch arguments of {origin}",
        "launcher_model_paths": [str(shared)],
        "notes": [note],
    }
    # An install the earlier rules find is used; the launcher's is named beside it.
    mine = _comfyui(tmp_path / "ComfyUI")
    shown = _config_json(tmp_path)["comfyui_root"]
    assert shown["path"] == str(mine) and shown["detail"] == "common location"
    assert shown["also_found"] == [{"path": str(listed), "detail": origin}]
    out = io.StringIO()
    environment = Environment(environ={}, home_dir=user, cwd=tmp_path, platform="linux", stdout=out)
    result = CliRunner().invoke(app, ["config"], obj=environment)
    assert result.exit_code == 0, result.stderr
    text = out.getvalue()
    assert f"# ComfyUI: {mine} (detected: common location)" in text
    assert f"also found: {listed} ({origin})" in text
    assert f"# note: {note}" in text


def test_config_says_why_a_configured_comfyui_folder_cannot_be_used(tmp_path: Path) -> None:
    shown = _config_json(tmp_path, COMFYUI_ROOT=str(tmp_path / "nowhere"))
    root = shown["comfyui_root"]
    assert root["path"] is None
    assert root["from"] == "environment" and root["detail"] == "COMFYUI_ROOT"
    assert "does not exist" in root["problem"]


def test_a_bug_during_a_cycle_is_one_sentence_exit_1_and_recorded_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchman.stages import needs
    from watchman.state.cycle_state import load_cycle_state

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug, not an input")

    monkeypatch.setattr(needs, "assess_all", broken)
    config = prepare_demo(tmp_path / "demo")
    code, out, err = run("--config", str(config), "--run-cycle")
    assert code == 1
    assert "unexpected KeyError" in err and "--debug" in err
    assert "Traceback" not in err + out
    (record,) = load_cycle_state(tmp_path / "demo" / "home" / "state" / "cycle_state.json").records
    assert record.outcome == "failed"


def test_a_full_disk_is_one_sentence_saying_to_free_space_not_to_check_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from watchman import cycle_record

    def disk_full(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cycle_record, "append_record", disk_full)
    config = prepare_demo(tmp_path / "demo")
    code, out, err = run("--config", str(config), "--run-cycle")
    assert code == 1
    assert "No space left on device; free some space on that disk" in err
    assert "permissions" not in err and "Traceback" not in err + out


def test_config_options_with_nothing_to_do_are_usage_errors() -> None:
    # --default prints TOML or Markdown; --json and a lone --markdown would be ignored.
    code, out, err = run("config", "--default", "--json")
    assert (code, out) == (2, "") and "--json" in err
    code, out, err = run("--json", "config", "--default")
    assert (code, out) == (2, "") and "--json" in err
    code, out, err = run("config", "--markdown")
    assert (code, out) == (2, "") and "--markdown goes with --default" in err
    code, out, _ = run("config", "--default", "--markdown")
    assert code == 0 and out.startswith("# Configuration")


def test_config_credits_a_well_known_variable_that_wins_over_the_file(tmp_path: Path) -> None:
    # COMFYUI_ROOT is read at the environment layer, above the file: the value shown is
    # the variable's, and so must be the source shown beside it.
    from_file, from_variable = _comfyui(tmp_path / "a" / "ComfyUI"), _comfyui(tmp_path / "b")
    config = tmp_path / "config.toml"
    config.write_text(f'[comfyui]\nroot = "{from_file.as_posix()}"\n')
    document = _config_json(tmp_path, "--config", str(config), COMFYUI_ROOT=str(from_variable))
    assert document["settings"]["comfyui"]["root"] == str(from_variable)
    assert document["sources"]["comfyui"]["root"] == {
        "from": "environment",
        "detail": "COMFYUI_ROOT",
    }


def test_limit_without_list_intake_is_a_usage_error_not_ignored() -> None:
    # Before `status` it would silently show status's own default of 10 cycles.
    code, out, err = run("--limit", "3", "status")
    assert (code, out) == (2, "")
    assert "--limit does nothing before the status command; put it after the command" in err
    code, out, err = run("--run-cycle", "--limit", "3")
    assert (code, out) == (2, "")
    assert "--limit does nothing with --run-cycle; it goes with --list-intake." in err


def test_scan_shows_an_embedding_naming_nothing_as_written(tmp_path: Path) -> None:
    prompt = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat, embedding:"}}}
    (tmp_path / "api.json").write_text(json.dumps(prompt))
    code, out, _ = run("scan", str(tmp_path / "api.json"))
    assert code == 0 and "embedding:" in out and "[embeddings]" in out  # the table folds


def test_the_cycle_summary_names_a_bare_embedding_only_when_a_prompt_has_one(
    tmp_path: Path,
) -> None:
    config = prepare_demo(tmp_path / "demo")
    code, out, _ = run("--config", str(config), "--run-cycle")
    assert code == 0 and "missing models:" in out and "embedding:" not in out
    workflows = tmp_path / "demo" / "ComfyUI" / "user" / "default" / "workflows"
    prompt = {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat, embedding:"}}}
    (workflows / "bare_embedding.json").write_text(json.dumps(prompt), encoding="utf-8")
    code, out, _ = run("--config", str(config), "--run-cycle")
    assert code == 0 and "bare 'embedding:' in prompts: 1" in out


def test_without_a_terminal_the_cycle_summary_is_plain_lines_one_fact_each(
    tmp_path: Path,
) -> None:
    config = prepare_demo(tmp_path / "demo")
    code, out, _ = run("--config", str(config), "--run-cycle")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "comfywatchman cycle"
    assert not any(set(line) & set("\u2500\u2502\u250f\u2501\u2503") for line in lines)
    report = Path(next(line for line in lines if line.startswith("json:")).split(None, 1)[1])
    by_status = json.loads(report.read_text(encoding="utf-8"))["summary"]["workflows_by_status"]
    assert sorted(line for line in lines if line.startswith("workflows ")) == sorted(
        f"workflows {status}: {count}" for status, count in by_status.items()
    )
    assert "missing models: " in out and f"report: {report.with_suffix('.md')}" in lines


def test_scan_shows_a_stranger_s_control_characters_escaped_never_sent_to_the_terminal(
    tmp_path: Path,
) -> None:
    # A file name that clears the screen, a model value that writes the clipboard (OSC 52)
    # and a name that reverses its own letters: shown as escapes, never acted on.
    value = "x\x1b]52;c;ZXZpbA==\x07\u202egnp.safetensors"
    workflow = {"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": [value, 1, 1]}]}
    (tmp_path / "evil\x1b[2J.json").write_text(json.dumps(workflow))
    (tmp_path / "bad\x1b[31m.json").write_text("{not json")
    code, out, err = run("scan", str(tmp_path))
    assert code == 1
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil\\x1b[2J.json" in out and "bad\\x1b[31m.json" in out
    # The table folds the long value over lines: its escapes are there, in pieces.
    assert "\\x1b]52" in out and "\\x07" in out and "\\u202e" in out
