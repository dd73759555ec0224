"""``log/structured.log``: lines appended whole, and the file rotated when it grows large."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from watchman.commands.cli import app
from watchman.state.structured_log import KEPT_GENERATIONS, StructuredLog, rotate


def test_a_log_within_its_size_is_kept_and_a_larger_one_begins_anew(tmp_path: Path) -> None:
    log = tmp_path / "structured.log"
    StructuredLog(log, lambda: 0.0).write("cycle", outcome="ran")
    size = log.stat().st_size
    assert rotate(log, size) is False and log.exists()
    assert rotate(log, size - 1) is True
    assert not log.exists() and (tmp_path / "structured.log.1").stat().st_size == size


def test_older_logs_move_down_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "structured.log"
    for generation in range(KEPT_GENERATIONS + 2):
        log.write_text(f"{generation}\n" * 10)
        assert rotate(log, 5)
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == [f"structured.log.{n}" for n in range(1, KEPT_GENERATIONS + 1)]
    newest = KEPT_GENERATIONS + 1
    assert (tmp_path / "structured.log.1").read_text().startswith(f"{newest}\n")


def test_a_limit_of_zero_or_no_log_rotates_nothing(tmp_path: Path) -> None:
    log = tmp_path / "structured.log"
    assert rotate(log, 1) is False
    log.write_text("x" * 100)
    assert rotate(log, 0) is False and log.exists()


def test_a_cycle_begins_a_new_log_once_the_old_one_passed_the_setting(tmp_path: Path) -> None:
    config = prepare_demo(tmp_path / "demo", "[logging]", "structured_log_max_mb = 0.001")
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "--run-cycle"]).exit_code == 0
    log = tmp_path / "demo" / "home" / "log" / "structured.log"
    assert log.stat().st_size > 1_000  # a full cycle's lines
    assert runner.invoke(app, ["--config", str(config), "--run-cycle"]).exit_code == 0
    earlier = log.with_name("structured.log.1")
    assert earlier.exists()
    cycles = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [line["event"] for line in cycles if line["event"] == "cycle"] == ["cycle"]
