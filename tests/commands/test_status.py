"""``comfywatchman status``: the last cycles, the next run and the last report's summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchman.commands.cli import app
from watchman.commands.status import collect_status, format_duration, status_to_json
from watchman.home import Home
from watchman.state.cycle_state import CycleRecord, append_record, update_next_run


def cycle(number: int, outcome: str = "ran", reason: str | None = None) -> CycleRecord:
    return CycleRecord(
        cycle_id=f"cycle-{number}",
        started_at=f"2026-01-0{number}T10:00:00+00:00",
        duration_seconds=1.5 * number,
        outcome=outcome,  # type: ignore[arg-type]
        reason=reason,
        counts={"workflows": number},
        trigger="scheduler",
    )


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure()
    return home


SUMMARY = {
    "workflows": 4,
    "missing_models": 2,
    "workflows_by_status": {"parse_error": 0, "ready": 1, "missing_models": 3},
}


def write_history(home: Home) -> None:
    append_record(home.cycle_state, cycle(1))
    append_record(home.cycle_state, cycle(2, "failed", "ComfyUI folder vanished"))
    append_record(home.cycle_state, cycle(3, "skipped", "vram: no GPU has 4 GiB free"))
    update_next_run(home.cycle_state, "2026-01-03T10:10:00+00:00")
    home.report_json.write_text(json.dumps({"schema_version": 1, "summary": SUMMARY}))
    home.report_markdown.write_text("# Status\n")


def test_an_empty_home_has_no_cycles_no_next_run_and_no_report(home: Home) -> None:
    view = collect_status(home)
    assert view.cycles == () and view.next_run is None
    assert view.report_summary is None and view.report_problem is None
    assert view.last_success is None


def test_the_status_lists_the_newest_cycles_first_with_the_next_run_and_summary(
    home: Home,
) -> None:
    write_history(home)
    view = collect_status(home, limit=2)
    assert [record.cycle_id for record in view.cycles] == ["cycle-3", "cycle-2"]
    assert view.cycles[0].reason == "vram: no GPU has 4 GiB free"
    assert view.next_run == "2026-01-03T10:10:00+00:00"
    assert view.report_summary == SUMMARY
    assert view.report_markdown == home.report_markdown
    assert view.last_success is None  # cycle 1, the last that ran, is beyond the limit
    assert collect_status(home).last_success == cycle(1)


def test_the_json_form_carries_every_field(home: Home) -> None:
    write_history(home)
    document = status_to_json(collect_status(home))
    assert document["next_run"] == "2026-01-03T10:10:00+00:00"
    assert document["cycles"][0]["outcome"] == "skipped"
    assert document["cycles"][0]["duration_seconds"] == 4.5
    assert document["last_success"]["cycle_id"] == "cycle-1"
    assert document["report"]["summary"] == SUMMARY
    json.dumps(document)  # JSON-ready as it is


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{ torn", "is not valid JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (b'{"entries": []}', "has no summary"),
        (b'{"summary": "all good"}', "the summary in"),
    ],
)
def test_an_unreadable_report_is_named_as_a_problem_not_an_error(
    home: Home, content: bytes, problem: str
) -> None:
    home.report_json.write_bytes(content)
    view = collect_status(home)
    assert view.report_summary is None
    assert view.report_problem is not None and problem in view.report_problem
    assert home.report_json.read_bytes() == content  # status never moves the report


def invoke(home: Home, tmp_path: Path, *arguments: str) -> tuple[int, str]:
    config = tmp_path / "config.toml"
    config.write_text("")
    result = CliRunner().invoke(
        app,
        ["status", *arguments],
        env={
            "COMFYWATCHMAN_HOME": str(home.root),
            "COMFYWATCHMAN_CONFIG": str(config),
            "COLUMNS": "200",  # wide enough that no table cell wraps
        },
    )
    return result.exit_code, result.output


def test_the_status_command_prints_json(home: Home, tmp_path: Path) -> None:
    write_history(home)
    exit_code, output = invoke(home, tmp_path, "--json", "--limit", "1")
    assert exit_code == 0, output
    document = json.loads(output)
    assert [item["cycle_id"] for item in document["cycles"]] == ["cycle-3"]
    assert document["report"]["summary"]["missing_models"] == 2


def test_the_status_command_prints_tables_for_a_person(home: Home, tmp_path: Path) -> None:
    write_history(home)
    exit_code, output = invoke(home, tmp_path)
    assert exit_code == 0, output
    # Long past by now: never shown as if it were still to come.
    assert "next run: due now (was planned for 2026-01-03T10:10:00+00:00)" in output
    assert "vram: no GPU has 4 GiB free" in output
    assert "missing_models" in output
    # A count per status, largest first, one per line: not a JSON string to decipher.
    statuses = output[output.index("workflows_by_status") :]
    assert "missing_models: 3" in statuses and "ready: 1" in statuses
    assert statuses.index("missing_models: 3") < statuses.index("ready: 1")
    assert "{" not in statuses.split("\n")[0]


def test_the_status_command_on_a_fresh_home_says_nothing_happened_yet(
    home: Home, tmp_path: Path
) -> None:
    exit_code, output = invoke(home, tmp_path)
    assert exit_code == 0, output
    assert "not scheduled" in output
    assert "No cycle recorded yet" in output
    assert "No report written yet." in output


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.045, "45 ms"), (0.0004, "0 ms"), (0.9994, "999 ms"), (0.9996, "1.0 s"), (12.34, "12.3 s")],
)
def test_sub_second_durations_are_shown_in_milliseconds(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_status_says_running_now_while_a_cycle_runs_and_not_after(tmp_path: Path) -> None:
    import os

    from watchman.commands.status import collect_status
    from watchman.home import Home
    from watchman.state.cycle_state import running_marker

    home = Home(tmp_path / "home")
    home.ensure()
    with running_marker(home.state_dir, "2026-01-02T03:04:05Z", os.getpid()):
        assert collect_status(home).running_since == "2026-01-02T03:04:05Z"
        # A marker left by a killed cycle (its process gone) is not "running now".
        assert collect_status(home, is_alive=lambda pid: False).running_since is None
    assert collect_status(home).running_since is None


def _index_for_report(home: Home, summary: dict | None) -> None:
    from watchman.reporting.report_index import ReportIndex, index_path, save_index
    from watchman.state.safe_files import file_sha256

    sha = file_sha256(home.report_json)
    assert sha is not None
    index = ReportIndex(sha, None, "cycle-9", None, "digest", {}, summary)
    save_index(index_path(home.state_dir), index)


def test_the_summary_comes_from_the_index_while_it_describes_the_report(home: Home) -> None:
    write_history(home)
    # The index's copy differs from the report's on purpose: it shows which was read.
    _index_for_report(home, {"workflows": 7})
    assert collect_status(home).report_summary == {"workflows": 7}


def test_a_stale_index_or_one_without_a_summary_sends_status_to_the_report(
    home: Home,
) -> None:
    write_history(home)
    _index_for_report(home, {"workflows": 7})
    home.report_json.write_text(json.dumps({"schema_version": 1, "summary": {"workflows": 5}}))
    assert collect_status(home).report_summary == {"workflows": 5}  # the report changed
    _index_for_report(home, None)  # an index written before it kept the summary
    assert collect_status(home).report_summary == {"workflows": 5}


def test_after_a_real_cycle_status_shows_the_reports_own_summary(tmp_path: Path) -> None:
    from tests.commands.comfy_tree import minimal_install, write_config

    root = minimal_install(tmp_path / "ComfyUI")
    home = Home(tmp_path / "home")
    config = write_config(tmp_path / "config.toml", home, root)
    result = CliRunner().invoke(app, ["--config", str(config), "--run-cycle", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(home.report_json.read_text(encoding="utf-8"))
    from watchman.reporting.report_index import index_path, read_index

    index = read_index(index_path(home.state_dir))
    assert index is not None and index.summary == report["summary"]
    assert collect_status(home).report_summary == report["summary"]
