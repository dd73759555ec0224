"""The tool's home: one folder wherever the command is started, never the current one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from watchman.config import Settings
from watchman.environment import Environment, user_folders
from watchman.home import resolve_home

REPO = Path(__file__).resolve().parents[1]


def environment(tmp_path: Path, **variables: str) -> Environment:
    return Environment(
        environ=variables, home_dir=tmp_path / "me", cwd=tmp_path / "here", platform="linux"
    )


def settings(home: str | None = None) -> Settings:
    return Settings.model_validate({"paths": {"home": home}})


def test_the_variable_wins_over_the_config_and_systemd(tmp_path: Path) -> None:
    given = environment(tmp_path, COMFYWATCHMAN_HOME="/v", STATE_DIRECTORY="/s")
    assert resolve_home(settings("/c"), given).root == Path("/v")


def test_the_config_wins_over_systemd(tmp_path: Path) -> None:
    given = environment(tmp_path, STATE_DIRECTORY="/s")
    assert resolve_home(settings("/c"), given).root == Path("/c")


def test_systemd_state_directory_is_used_when_nothing_names_a_home(tmp_path: Path) -> None:
    # A unit with several StateDirectory= entries gets them colon-separated: the first.
    given = environment(tmp_path, STATE_DIRECTORY="/var/lib/comfywatchman:/var/lib/other")
    assert resolve_home(settings(), given).root == Path("/var/lib/comfywatchman")


def test_else_the_user_state_folder_never_the_current_folder(tmp_path: Path) -> None:
    home = resolve_home(settings(), environment(tmp_path))
    assert home.root == tmp_path / "me" / ".local" / "state" / "comfywatchman"
    assert home.root != tmp_path / "here"


def test_a_relative_home_is_taken_from_where_the_command_started(tmp_path: Path) -> None:
    assert resolve_home(settings("h"), environment(tmp_path)).root == tmp_path / "here" / "h"


def test_a_tilde_home_is_the_users_home(tmp_path: Path) -> None:
    given = environment(tmp_path, COMFYWATCHMAN_HOME="~/cw")
    assert resolve_home(settings(), given).root == tmp_path / "me" / "cw"


def _comfyui(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("", encoding="utf-8")
    (folder / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\n", encoding="utf-8")
    return folder


@pytest.mark.skipif(sys.platform == "win32", reason="Windows asks the known-folder API")
def test_run_cycle_from_any_folder_writes_to_the_same_home(tmp_path: Path) -> None:
    # What cron does: no COMFYWATCHMAN_HOME, no paths.home, started in whatever folder.
    root = _comfyui(tmp_path / "ComfyUI")
    config = tmp_path / "config.toml"
    config.write_text(
        "[comfyui]\n"
        f'root = "{root.as_posix()}"\n'
        "use_server = false\n"
        "[schedule]\nboot_grace_minutes = 0\nresume_grace_minutes = 0\nmin_vram_gb = 0\n"
        "[search]\noffline = true\n",
        encoding="utf-8",
    )
    variables = {
        **os.environ,
        "COMFYWATCHMAN_CONFIG": str(config),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    starts = [tmp_path / "first", tmp_path / "second"]
    for start in starts:
        start.mkdir()
        finished = subprocess.run(
            [sys.executable, "-m", "watchman", "--run-cycle", "--json"],
            cwd=start,
            env=variables,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        assert list(start.iterdir()) == [], "nothing is written where the command started"
    expected = user_folders(variables, Path(variables["HOME"]), sys.platform).state
    state = (expected / "state" / "cycle_state.json").read_text(encoding="utf-8")
    assert state.count('"cycle_id"') == 2
    assert (expected / "output" / "reports" / "status" / "master_status.md").is_file()
