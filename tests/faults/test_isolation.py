"""One bad workflow is that workflow's parse_error: scan prints every file of a batch, the
cycle records itself and writes its report, and any file name can be shown."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.test_end_to_end import demo, home_of, intake_lines, report, run  # noqa: F401
from watchman.comfy import workflow as workflow_module
from watchman.commands.cli import app

GOOD = {"nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["a.ckpt"]}]}
TRAP = {"nodes": [{"id": 1, "type": "TrapNode"}]}


def explode_on_trap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the UI reader fail unexpectedly on any workflow using TrapNode."""
    real = workflow_module.parse_ui_workflow

    def reader(document: dict[str, Any], *args: Any) -> Any:
        if any(node.get("type") == "TrapNode" for node in document["nodes"]):
            raise ZeroDivisionError("a reader bug")
        return real(document, *args)

    monkeypatch.setattr(workflow_module, "parse_ui_workflow", reader)


def write_batch(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.json").write_text(json.dumps(GOOD))
    (folder / "b.json").write_text(json.dumps(TRAP))
    (folder / "c.json").write_text(json.dumps(GOOD))


def scan_json(*paths: Path, status: int = 0) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["scan", "--json", *map(str, paths)])
    assert result.exit_code == status, result.output
    return json.loads(result.stdout)


def test_a_reader_failure_on_one_file_leaves_every_file_of_the_batch_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(tmp_path)
    explode_on_trap(monkeypatch)
    entries = scan_json(tmp_path, status=1)  # 1: a file could not be read
    assert [Path(entry["path"]).name for entry in entries] == ["a.json", "b.json", "c.json"]
    assert entries[0]["node_types"] == ["CheckpointLoaderSimple"]
    (error,) = entries[1]["errors"]
    assert "ZeroDivisionError" in error and "b.json" in error
    assert entries[2]["errors"] == []


def test_the_scan_table_also_lists_every_file_when_one_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(tmp_path)
    explode_on_trap(monkeypatch)
    result = CliRunner().invoke(app, ["scan", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1  # a file could not be read, and every file is listed
    assert "3 workflow file(s)" in result.stdout
    assert "ZeroDivisionError" in result.stdout


def non_utf8_file(folder: Path, document: Any) -> Path:
    """Write a workflow whose file name holds the byte 0xff; skip where the OS refuses."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = os.fsencode(folder) + b"/caf\xff.json"
    try:
        with open(raw, "wb") as handle:
            handle.write(json.dumps(document).encode())
    except (OSError, ValueError) as error:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({error})")
    return Path(os.fsdecode(raw))


def test_a_file_name_that_is_not_utf8_is_shown_escaped_by_scan(tmp_path: Path) -> None:
    non_utf8_file(tmp_path, GOOD)
    (entry,) = scan_json(tmp_path)
    assert entry["path"].endswith("caf\\xff.json")
    table = CliRunner().invoke(app, ["scan", str(tmp_path)], env={"COLUMNS": "400"})
    assert table.exit_code == 0
    assert "caf\\xff.json" in table.stdout.replace("\n", "")


def structured_events(config: Path, phase: str) -> list[dict[str, Any]]:
    log = home_of(config) / "log" / "structured.log"
    events = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [e for e in events if e.get("event") == "stage" and e.get("phase") == phase]


def test_a_reader_failure_in_a_cycle_is_that_workflow_s_parse_error_and_the_cycle_runs(
    demo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    (folder / "trap.json").write_text(json.dumps(TRAP))
    explode_on_trap(monkeypatch)
    code, _, _ = run("--config", str(demo), "--run-cycle")
    assert code == 0
    entries = {Path(entry["path"]).name: entry for entry in report(demo)["workflows"]}
    assert entries["trap.json"]["status"] == "parse_error"
    assert "ZeroDivisionError" in entries["trap.json"]["error"]
    assert entries["ready_sdxl.json"]["status"] == "ready"
    (stage,) = structured_events(demo, "workflows")
    assert [failure["exception"] for failure in stage["reader_failures"]] == ["ZeroDivisionError"]


def test_an_assessment_failure_is_that_workflow_s_parse_error_and_the_cycle_runs(
    demo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchman.stages import needs

    real = needs.assess_workflow

    def assess(parsed: Any, *args: Any) -> Any:
        if "VAELoader" in parsed.node_types:
            raise KeyError("an assessment bug")
        return real(parsed, *args)

    monkeypatch.setattr(needs, "assess_workflow", assess)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    statuses = {Path(entry["path"]).name: entry["status"] for entry in report(demo)["workflows"]}
    assert statuses["misplaced_vae.json"] == "parse_error"
    assert statuses["ready_sdxl.json"] == "ready"
    (stage,) = structured_events(demo, "needs")
    assert {failure["exception"] for failure in stage["assess_failures"]} == {"KeyError"}


def test_a_non_utf8_name_and_a_lone_surrogate_go_through_cycles_without_new_intake(
    demo: Path,  # noqa: F811
) -> None:
    folder = demo.parent / "ComfyUI" / "user" / "default" / "workflows"
    non_utf8_file(folder, GOOD)
    (folder / "lone.json").write_bytes(
        b'{"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["x\\udc00.safetensors"]}]}'
    )
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    names = {Path(entry["path"]).name: entry for entry in report(demo)["workflows"]}
    assert "caf\udcff.json" in names  # the JSON report keeps the name, escaped as \udcff
    assert r"x\\udc00.safetensors" in json.dumps(names["lone.json"])
    markdown = (home_of(demo) / "output/reports/status/master_status.md").read_text("utf-8")
    assert "caf\\xff.json" in markdown
    lines = intake_lines(demo)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert intake_lines(demo) == lines  # the same name is the same workflow next cycle
    listing = CliRunner().invoke(
        app, ["--config", str(demo), "--list-intake"], env={"COLUMNS": "400"}
    )
    assert listing.exit_code == 0 and "caf\\xff.json" in listing.stdout.replace("\n", "")


def test_a_symlink_loop_is_one_unreadable_entry_and_every_other_workflow_is_read(
    tmp_path: Path,
) -> None:
    from watchman.stages.workflows import scan_watched_folders

    for index in range(8):
        (tmp_path / f"w{index}.json").write_text(json.dumps(GOOD))
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "self.json").symlink_to(tmp_path / "self.json")
    scan = scan_watched_folders([(tmp_path, "user")], {}, scan_started_ns=time.time_ns())
    assert sorted(stored.watched.path.name for stored in scan.workflows) == [
        f"w{index}.json" for index in range(8)
    ]
    (unreadable,) = scan.unreadable
    assert unreadable.path.name == "self.json"
    assert "symbolic links" in unreadable.error


def test_a_log_line_about_a_file_name_that_is_not_utf8_is_written_escaped() -> None:
    import logging

    from watchman.state.logs import JsonLineFormatter

    record = logging.LogRecord("x", logging.WARNING, "f", 1, "Cannot read %s", ("caf\udcff",), None)
    assert json.loads(JsonLineFormatter().format(record))["message"] == "Cannot read caf\\xff"
