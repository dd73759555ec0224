"""The process's surroundings: read once, frozen, and the per-user folders they imply."""

from __future__ import annotations

import ast
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest
from typer.testing import CliRunner

from tests.comfy.test_install import root_of
from watchman.commands.cli import app
from watchman.environment import Environment, expand_user, user_folders


def test_linux_folders_follow_xdg_variables_else_the_home(tmp_path: Path) -> None:
    plain = user_folders({}, tmp_path, "linux")
    assert plain.config == tmp_path / ".config" / "comfywatchman"
    assert plain.state == tmp_path / ".local" / "state" / "comfywatchman"
    xdg = user_folders(
        {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_STATE_HOME": str(tmp_path / "s")},
        tmp_path,
        "linux",
    )
    assert (xdg.config, xdg.state) == (tmp_path / "c/comfywatchman", tmp_path / "s/comfywatchman")


def test_windows_keeps_config_roaming_and_state_local(tmp_path: Path) -> None:
    folders = user_folders(
        {"APPDATA": str(tmp_path / "Roaming"), "LOCALAPPDATA": str(tmp_path / "Local")},
        tmp_path,
        "win32",
    )
    assert folders.config == tmp_path / "Roaming" / "comfywatchman"
    assert folders.state == tmp_path / "Local" / "comfywatchman"


def test_macos_keeps_both_in_application_support(tmp_path: Path) -> None:
    folders = user_folders({"XDG_STATE_HOME": "/ignored"}, tmp_path, "darwin")
    expected = tmp_path / "Library" / "Application Support" / "comfywatchman"
    assert (folders.config, folders.state) == (expected, expected)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows asks the known-folder API")
def test_the_rules_agree_with_platformdirs_on_this_platform(tmp_path: Path) -> None:
    # The autouse fixture gave this process an empty home; platformdirs reads the process.
    ours = user_folders(os.environ, Path.home(), sys.platform)
    assert ours.config == platformdirs.user_config_path("comfywatchman", appauthor=False)
    assert ours.state == platformdirs.user_state_path("comfywatchman", appauthor=False)
    process = Environment.from_process()
    assert (process.user_config_dir, process.user_state_dir) == (ours.config, ours.state)


def test_the_environment_keeps_its_own_copy_of_the_variables(tmp_path: Path) -> None:
    variables = {"COMFYWATCHMAN_HOME": "/a"}
    environment = Environment(environ=variables, home_dir=tmp_path, cwd=tmp_path)
    variables["COMFYWATCHMAN_HOME"] = "/b"
    assert environment.environ["COMFYWATCHMAN_HOME"] == "/a"
    with pytest.raises(TypeError):
        environment.environ["X"] = "y"  # type: ignore[index]


def test_a_tilde_means_the_given_home_not_the_process_one(tmp_path: Path) -> None:
    assert expand_user(Path("~/x"), tmp_path) == tmp_path / "x"
    assert expand_user(Path("~"), tmp_path) == tmp_path
    assert expand_user(Path("/abs/~x"), tmp_path) == Path("/abs/~x")


def test_the_cli_reads_settings_and_writes_output_through_the_environment_it_is_handed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB", "99")  # the process's: unseen
    config_dir = tmp_path / "config-home" / "comfywatchman"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text("[schedule]\ninterval_minutes = 33\n", "utf-8")
    out = io.StringIO()
    environment = Environment(
        environ={
            "XDG_CONFIG_HOME": str(tmp_path / "config-home"),
            "COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "5",
        },
        home_dir=tmp_path,
        cwd=tmp_path,
        platform="linux",
        stdout=out,
    )
    result = CliRunner().invoke(app, ["config", "--json"], obj=environment)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(out.getvalue())["settings"]
    assert shown["schedule"]["interval_minutes"] == 33
    assert shown["schedule"]["min_vram_gb"] == 5


def test_a_tilde_or_relative_comfyui_root_is_taken_from_the_environment_given(
    tmp_path: Path,
) -> None:
    home = tmp_path / "given-home"
    root = home / "apps" / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("", encoding="utf-8")
    assert root_of(Path("~/apps/ComfyUI"), {}, home, cwd=tmp_path) == root
    assert root_of(Path("ComfyUI"), {}, home, cwd=home / "apps") == root


# Reading the process's surroundings is main()'s job (Environment.from_process). What is
# left below it, and why; a new read anywhere else fails this test.
_PROCESS_READS_ALLOWED = {
    "environment.py": "Environment.from_process, called by main() alone",
    # "~otheruser/…" in a YAML file: expanduser looks that user up in the password
    # database (a plain "~" uses the home handed down from main()).
    "comfy/extra_model_paths.py": "expanduser for ~otheruser only",
}


def _process_reads(tree: ast.AST) -> list[int]:
    """Lines reading os.environ / os.getenv / os.getcwd, Path.home / Path.cwd, or
    expanduser (which reads HOME)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value.id if isinstance(node.value, ast.Name) else None
        if (
            (owner == "os" and node.attr in ("environ", "getenv", "getcwd", "getcwdb"))
            or (owner == "Path" and node.attr in ("home", "cwd"))
            or node.attr == "expanduser"
        ):
            lines.append(node.lineno)
    return lines


def _offenders(allowed: dict[str, str], reads: Callable[[ast.AST], list[int]]) -> list[str]:
    """``module:line`` of every read ``reads`` finds in the package outside ``allowed``."""
    package = Path(__file__).resolve().parents[1] / "watchman"
    offenders = []
    for source in sorted(package.rglob("*.py")):
        name = source.relative_to(package).as_posix()
        if name not in allowed:
            tree = ast.parse(source.read_text(encoding="utf-8"))
            offenders += [f"{name}:{line}" for line in reads(tree)]
    return offenders


def test_nothing_below_main_reads_the_process_environment_home_or_working_folder() -> None:
    assert _offenders(_PROCESS_READS_ALLOWED, _process_reads) == []


# Reading the wall clock is the Clock's job (clocks.SystemClock, made once in main() and
# handed down in the Environment). What is left, and why; a new read fails this test.
_WALL_CLOCK_READS_ALLOWED = {
    "clocks.py": "SystemClock, the one real clock",
    # APScheduler compares run times with its own reading of the wall clock, so the delay
    # the (pure, fake-clock-tested) timetable planned is laid on that same reading.
    "commands/scheduler.py": "the run time handed to APScheduler",
}


def _wall_clock_reads(tree: ast.AST) -> list[int]:
    """Lines calling time.time / time.time_ns, datetime.now / utcnow / today, date.today,
    or time.gmtime / localtime / ctime / strftime without a moment (which read the clock)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
        attr = node.func.attr
        if (
            (owner == "time" and attr in ("time", "time_ns"))
            or (owner in ("datetime", "date") and attr in ("now", "utcnow", "today"))
            or (owner == "time" and attr in ("gmtime", "localtime", "ctime") and not node.args)
            or (owner == "time" and attr == "strftime" and len(node.args) < 2)
        ):
            lines.append(node.lineno)
    return lines


def test_nothing_below_main_reads_the_wall_clock() -> None:
    assert _offenders(_WALL_CLOCK_READS_ALLOWED, _wall_clock_reads) == []


def test_the_wall_clock_check_sees_each_kind_of_read() -> None:
    source = (
        "import time, datetime\n"
        "time.time()\n"
        "datetime.now(tz)\n"
        "time.gmtime()\n"
        "time.strftime('%Y')\n"
        "time.gmtime(0)\n"
        "time.strftime('%Y', time.gmtime(0))\n"
    )
    assert _wall_clock_reads(ast.parse(source)) == [2, 3, 4, 5]
