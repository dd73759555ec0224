"""Without a terminal, each step of a cycle is one JSON line, in the structured log and
(with ``--progress``) on stderr, carrying the id of its cycle so a person can group a
cycle's progress with its stage and cycle lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.demo_tree import prepare_demo
from watchman.commands.cli import app
from watchman.commands.progress import LOG_INTERVAL_SECONDS, LineProgress
from watchman.state.structured_log import StructuredLog


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_progress_lines_carry_the_id_of_the_cycle_they_tell(tmp_path: Path) -> None:
    log = StructuredLog(tmp_path / "structured.log", lambda: 0.0)
    stderr = io.StringIO()
    progress = LineProgress(stderr, log)
    progress.on_cycle_start("first")
    progress.on_stage("resolve")
    progress.on_progress("resolve", 1, 2)
    progress.on_cycle_start("second")
    progress.on_stage("inventory")
    logged = [(line["cycle_id"], line["phase"], line.get("done")) for line in _lines(log.path)]
    assert logged == [
        ("first", "resolve", None),
        ("first", "resolve", 1),
        ("second", "inventory", None),
    ]
    shown = [json.loads(line) for line in stderr.getvalue().splitlines()]
    assert [(line["event"], line["cycle_id"]) for line in shown] == [
        ("progress", "first"),
        ("progress", "first"),
        ("progress", "second"),
    ]


def test_a_cycle_run_without_a_terminal_logs_its_progress_under_its_own_id(
    tmp_path: Path,
) -> None:
    config = prepare_demo(tmp_path / "demo")
    workflow = next(
        (tmp_path / "demo" / "ComfyUI" / "user" / "default" / "workflows").glob("*.json")
    )
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "--run-cycle"])
    assert first.exit_code == 0, first.stderr
    # An edited workflow: the second cycle runs its stages again.
    workflow.write_text(workflow.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = runner.invoke(app, ["--config", str(config), "--run-cycle"])
    assert second.exit_code == 0, second.stderr
    lines = _lines(tmp_path / "demo" / "home" / "log" / "structured.log")
    cycles = [line["cycle_id"] for line in lines if line["event"] == "cycle"]
    assert len(cycles) == 2 and cycles[0] != cycles[1]
    for cycle_id in cycles:
        own = [line for line in lines if line.get("cycle_id") == cycle_id]
        stages = [
            line["phase"] for line in own if line["event"] == "stage" and "duration_seconds" in line
        ]
        started = [
            line["phase"] for line in own if line["event"] == "progress" and "done" not in line
        ]
        assert started and started == stages
    assert all(line.get("cycle_id") in cycles for line in lines if line["event"] == "progress")


def test_the_log_keeps_a_stage_s_first_and_last_step_and_one_a_second_the_stream_all(
    tmp_path: Path,
) -> None:
    log = StructuredLog(tmp_path / "structured.log", lambda: 0.0)
    stderr = io.StringIO()
    now = [100.0]
    progress = LineProgress(stderr, log, lambda: now[0])
    progress.on_cycle_start("one")
    progress.on_stage("resolve")
    for done in range(1, 2001):
        if done == 1000:
            now[0] += LOG_INTERVAL_SECONDS
        progress.on_progress("resolve", done, 2000)
    logged = [line.get("done") for line in _lines(log.path)]
    assert logged == [None, 1, 1000, 2000]
    shown = [json.loads(line).get("done") for line in stderr.getvalue().splitlines()]
    assert shown == [None, *range(1, 2001)]
