"""The planned-downloads table keeps each name whole on a terminal of ordinary width: the
name is what the person types after ``comfywatchman download``, so the other columns fold
first."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from watchman.commands.downloads import show_plan
from watchman.home import Home
from watchman.stages.download_plan import DownloadPlan, PlannedDownload, save_plan

NAME = "checkpoints/SDXL/juggernautXL_v9Rdphoto2Lightning.safetensors"


def shown(tmp_path: Path, width: int) -> list[str]:
    home = Home(tmp_path / "home")
    home.ensure()
    task = PlannedDownload(
        name=NAME,
        url="https://example.invalid/juggernaut.safetensors",
        folder="checkpoints",
        subfolder="SDXL",
        file_name="juggernautXL_v9Rdphoto2Lightning.safetensors",
        root=str(tmp_path / "models" / "checkpoints"),
        size=None,
        sha256=None,
        source="comfyui-manager model-list.json",
        token="huggingface",
        workflows=("a.json",),
        trusted=False,
        why_not="no sha256 or size to verify the file against",
    )
    save_plan(home.state_dir, DownloadPlan(tasks=(task,)))
    console = Console(width=width, record=True, force_terminal=False)
    show_plan(home, console, as_json=False)
    return console.export_text().split("\n")


def test_a_long_name_stays_on_one_line_while_the_reason_folds(tmp_path: Path) -> None:
    table = shown(tmp_path, 150)
    assert any(NAME in line and "│" in line for line in table)
    assert not any("no sha256 or size to verify the file against" in line for line in table)


def test_a_narrow_terminal_still_shows_every_column(tmp_path: Path) -> None:
    header = next(line for line in shown(tmp_path, 80) if "name" in line and "┃" in line)
    assert header.rstrip().endswith("┃")
    assert "workflows" in header
