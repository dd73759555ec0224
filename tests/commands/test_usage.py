"""The command line accepts only what it means: an option where it does nothing is a usage
error naming it and the mode; ``--debug`` works after every command as before it; and every
exit status the commands give is an ``ExitStatus``."""

from __future__ import annotations

import ast
import importlib
import traceback
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from watchman.commands.cli import app
from watchman.commands.usage import (
    ALL_MODES,
    COMMANDS,
    MODE_FLAGS,
    OPTION_MODES,
    goes_with,
    misuse,
)
from watchman.exit_status import ExitStatus

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "demo-comfyui" / "user" / "default" / "workflows" / "ready_sdxl.json"


def run(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments))


def test_the_table_has_a_row_for_every_option_of_the_command_and_knows_every_command() -> None:
    root: Any = typer.main.get_command(app)
    options = {parameter.opts[0] for parameter in root.params}
    assert set(OPTION_MODES) == options - {*MODE_FLAGS, "--help", "--version"}
    assert tuple(root.commands) == COMMANDS
    assert all(modes and modes <= ALL_MODES for modes in OPTION_MODES.values())


def _typed(option: str) -> list[str]:
    """``option`` as a user would give it, with a value when it takes one."""
    values = {"--limit": "3", "--config": "c.toml", "--comfyui-root": "C", "--backends": "civitai"}
    return [option, values[option]] if option in values else [option]


REFUSED = [(option, mode) for option, modes in OPTION_MODES.items() for mode in ALL_MODES - modes]


@pytest.mark.parametrize(("option", "mode"), sorted(REFUSED))
def test_every_option_given_where_it_does_nothing_is_a_one_sentence_usage_error(
    option: str, mode: str
) -> None:
    # A command's own arguments are never read: the check comes first.
    result = run(*_typed(option), mode)
    assert (result.exit_code, result.stdout) == (2, "")
    where = f"with {mode}" if mode in MODE_FLAGS else f"before the {mode} command"
    assert result.stderr.startswith(f"comfywatchman: {option} does nothing {where}; ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        (
            ["--list-intake", "--auto-download"],
            "--auto-download does nothing with --list-intake; it goes with --run-cycle, "
            "--scheduler or before the config command.",
        ),
        (
            ["--offline", "--list-intake"],
            "--offline does nothing with --list-intake; it goes with --run-cycle, --scheduler "
            "or before the resolve or config command.",
        ),
        (
            ["--list-intake", "--backends", "civitai"],
            "--backends does nothing with --list-intake; it goes with --run-cycle, "
            "--scheduler or before the resolve or config command.",
        ),
        (
            ["--scheduler", "--json"],
            "--json does nothing with --scheduler; it goes with --run-cycle, --list-intake or "
            "before any command.",
        ),
        (
            ["--json", "--config", "c.toml", "scan", str(WORKFLOW)],
            "--config does nothing before the scan command; it goes with --run-cycle, "
            "--scheduler, --list-intake or before the resolve, downloads, download, config or "
            "status command.",
        ),
        (
            ["--offline", "status"],
            "--offline does nothing before the status command; it goes with --run-cycle, "
            "--scheduler or before the resolve or config command.",
        ),
        (
            ["--comfyui-root", "C", "download", "--all"],
            "--comfyui-root does nothing before the download command; it goes with "
            "--run-cycle, --scheduler or before the resolve or config command.",
        ),
        (
            ["--run-cycle", "--offline", "--backends", "civitai"],
            "--backends does nothing with --offline (--offline asks no backend); choose one.",
        ),
        (
            ["--scheduler", "--offline", "--auto-download"],
            "--auto-download does nothing with --offline (--offline downloads nothing); "
            "choose one.",
        ),
        (
            ["--offline", "resolve", "x.safetensors", "--backends", "civitai"],
            "--backends does nothing with --offline (--offline asks no backend); choose one.",
        ),
        (
            ["resolve", "x.safetensors", "--backends", "civitai", "--offline"],
            "--backends does nothing with --offline (--offline asks no backend); choose one.",
        ),
        (
            ["--run-cycle", "--quiet", "--no-progress"],
            "--no-progress does nothing with --quiet (--quiet shows no progress); choose one.",
        ),
        (
            ["--run-cycle", "--json", "--no-progress"],
            "--no-progress does nothing with --json (--json shows no progress bar); choose one.",
        ),
        (
            ["--no-progress", "--json", "--run-cycle"],
            "--no-progress does nothing with --json (--json shows no progress bar); choose one.",
        ),
        (
            ["download", "x.safetensors", "--all"],
            "download takes names or --all, not both; choose one.",
        ),
    ],
)
def test_the_review_s_cases_read_as_one_sentence_naming_the_option_and_the_mode(
    arguments: list[str], sentence: str
) -> None:
    result = run(*arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"comfywatchman: {sentence}\n",
    )


def test_a_flag_that_sets_a_setting_is_shown_by_config_as_the_flag_s() -> None:
    # --auto-download means something before `config`: it shows what the flag sets.
    result = run("--auto-download", "config")
    assert result.exit_code == 0, result.stderr
    assert "auto_download = true  # flag" in result.stdout


def _after(command: str) -> set[str]:
    root: Any = typer.main.get_command(app)
    return {option for parameter in root.commands[command].params for option in parameter.opts}


def test_what_means_something_before_a_command_is_taken_after_it_too_and_only_that() -> None:
    root_options = set(OPTION_MODES)
    for command in COMMANDS:
        before = {option for option, modes in OPTION_MODES.items() if command in modes}
        after = _after(command) & root_options
        # status's own --limit counts cycles, not intake entries: it is status's alone.
        assert after - {"--limit"} == before, command


@pytest.mark.parametrize(
    "arguments",
    [
        ["config", "--default", "--offline"],
        ["--offline", "config", "--default"],
        ["config", "--default", "--config", "c.toml"],
        ["--auto-download", "config", "--default", "--markdown"],
    ],
)
def test_config_default_refuses_what_would_change_the_settings(arguments: list[str]) -> None:
    result = run(*arguments)
    assert (result.exit_code, result.stdout) == (2, "")
    assert "does nothing with config --default, which prints the defaults" in result.stderr


def test_config_shows_the_setting_flags_given_after_it() -> None:
    result = run("config", "--offline", "--comfyui-root", "C")
    assert result.exit_code == 0, result.stderr
    assert "offline = true  # flag" in result.stdout
    result = run("config", "--auto-download", "--backends", "civitai")
    assert result.exit_code == 0, result.stderr
    assert "auto_download = true  # flag" in result.stdout
    assert 'backend_order = [\n    "civitai",\n]  # flag' in result.stdout
    result = run("config", "--backends", "civitai", "--offline")
    assert (result.exit_code, result.stdout) == (2, "")
    assert "--backends does nothing with --offline" in result.stderr


def test_where_an_option_goes_is_said_in_the_help_from_the_same_table() -> None:
    help_text = " ".join(run("--help").stdout.split())
    for option, modes in OPTION_MODES.items():
        if modes != ALL_MODES:
            assert f"With {goes_with(option)}:" in help_text, option
    assert misuse("--list-intake", [("--limit", "--limit")]) is None


# For each command: a function it calls, made to fail as a bug would (not an input).
BREAKS = {
    "scan": ("watchman.commands.scan", "scan_entry_to_json", ["scan", "--json", str(WORKFLOW)]),
    "resolve": (
        "watchman.stages.resolve",
        "resolve_one",
        ["resolve", "x.safetensors", "--offline"],
    ),
    "downloads": ("watchman.commands.downloads", "show_plan", ["downloads"]),
    "download": ("watchman.commands.downloads", "run_download", ["download", "--all"]),
    "config": ("watchman.commands.config_view", "render_config", ["config"]),
    "status": ("watchman.commands.status", "next_run_line", ["status"]),
}


def test_every_command_has_its_internal_error_case() -> None:
    assert tuple(BREAKS) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_an_internal_error_shows_a_traceback_only_with_debug_before_or_after_the_command(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, name, arguments = BREAKS[command]

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug, not an input")

    monkeypatch.setattr(importlib.import_module(module), name, broken)
    plain = run(*arguments)
    assert plain.exit_code == 1
    assert "unexpected KeyError" in plain.stderr and "--debug" in plain.stderr
    # Only the exit status reaches the interpreter: it prints no traceback.
    assert isinstance(plain.exception, SystemExit)
    for debugged in (["--debug", *arguments], [*arguments, "--debug"]):
        result = run(*debugged)
        # The error itself reaches the interpreter, which prints its traceback.
        assert isinstance(result.exception, KeyError), debugged
        assert result.exc_info is not None
        shown = "".join(traceback.format_exception(*result.exc_info))
        assert shown.startswith("Traceback") and "in broken" in shown
        assert "unexpected" not in result.stderr, debugged


# The same for the three contract flags.
MODE_BREAKS = {
    "--run-cycle": ("watchman.cycle", "run_cycle"),
    "--scheduler": ("watchman.commands.scheduler", "run_scheduler"),
    "--list-intake": ("watchman.stages.intake", "list_intake"),
}


@pytest.mark.parametrize("flag", MODE_FLAGS)
def test_an_internal_error_in_a_mode_shows_a_traceback_only_with_debug(
    flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, name = MODE_BREAKS[flag]

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug, not an input")

    monkeypatch.setattr(importlib.import_module(module), name, broken)
    plain = run(flag)
    assert plain.exit_code == 1 and isinstance(plain.exception, SystemExit)
    assert "unexpected KeyError" in plain.stderr and "--debug" in plain.stderr
    debugged = run(flag, "--debug")
    assert isinstance(debugged.exception, KeyError)
    assert "unexpected" not in debugged.stderr


def test_debug_after_a_command_logs_at_debug_as_before_it() -> None:
    import logging

    root = logging.getLogger()
    before = root.level
    try:
        assert run("status").exit_code == 0
        assert root.level == logging.WARNING
        assert run("status", "--debug").exit_code == 0
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(before)


def _int_literals(node: ast.AST) -> list[int]:
    return [
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and type(child.value) is int
    ]


def test_the_commands_exit_with_exit_status_members_never_bare_numbers() -> None:
    wrong = []
    for path in [
        *sorted((REPO / "watchman" / "commands").glob("*.py")),
        REPO / "watchman/__main__.py",
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("Exit", "exit", "_exit") and _int_literals(node):
                    wrong.append(f"{where}: {called}() of a number")
            elif isinstance(node, ast.Return) and node.value is not None:
                value = node.value
                first = value.elts[0] if isinstance(value, ast.Tuple) and value.elts else value
                if isinstance(first, ast.Constant) and type(first.value) is int:
                    wrong.append(f"{where}: returns a number")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                named = [t.id for t in targets if isinstance(t, ast.Name)]
                table = node.value.values if isinstance(node.value, ast.Dict) else []
                numbers = any(isinstance(value, ast.Constant) for value in table)
                if numbers and any("EXIT" in name for name in named):
                    wrong.append(f"{where}: an exit table of numbers")
    assert not wrong, wrong


def test_the_signal_exit_statuses_are_the_enum_s() -> None:
    import signal

    from watchman.commands.stopping import EXIT_AFTER

    assert EXIT_AFTER == {signal.SIGINT: ExitStatus.SIGINT, signal.SIGTERM: ExitStatus.SIGTERM}
