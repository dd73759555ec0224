"""What killed writes leave behind is cleaned at the next start, only the tool's own files
under its home, and the two reports are replaced as one set."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_end_to_end import demo, home_of, report, run  # noqa: F401
from watchman.state import file_sets, safe_files
from watchman.state.file_sets import recover_file_sets, write_file_set
from watchman.state.safe_files import atomic_write_bytes
from watchman.state.stale_temp_files import STALE_TEMP_SECONDS, remove_stale_temp_files


def dead_pid() -> int:
    """The id of a process that has ended (reaped, so nothing runs under it now)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_temp_file_of_a_writer_that_is_gone_is_removed_and_nothing_else(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True)
    stale = home / "state" / f".model_cache.json.{dead_pid()}-abcd_123.tmp"
    stale.write_bytes(b"half")
    mine = home / "state" / f".cycle_state.json.{os.getpid()}-abcd_123.tmp"
    mine.write_bytes(b"being written")
    kept = [
        home / "state" / "model_cache.json",
        home / "state" / "notes.tmp",
        home / "state" / ".hidden.tmp",
        home / "state" / ".config.abcdefgh",  # looks like the old form, no file beside it
    ]
    for path in kept:
        path.write_bytes(b"x")
    outside = tmp_path / "elsewhere" / f".x.json.{dead_pid()}-abcd_123.tmp"
    outside.parent.mkdir()
    outside.write_bytes(b"not ours to judge")
    assert remove_stale_temp_files(home, now=time.time()) == [stale]
    assert all(path.exists() for path in [*kept, mine, outside])


def test_a_temp_file_older_than_an_hour_is_stale_whoever_wrote_it(tmp_path: Path) -> None:
    mine = tmp_path / f".cycle_state.json.{os.getpid()}-abcd_123.tmp"
    old_form = tmp_path / ".model_cache.json.k2j_9xq1"
    (tmp_path / "model_cache.json").write_bytes(b"{}")
    for path in (mine, old_form):
        path.write_bytes(b"x")
    later = time.time() + STALE_TEMP_SECONDS + 60
    assert sorted(remove_stale_temp_files(tmp_path, now=later)) == sorted([mine, old_form])


def test_atomic_writes_use_the_pattern_the_cleaner_knows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def replace(source: str, target: Path) -> None:
        seen.append(Path(source).name)
        raise KeyboardInterrupt  # killed between write and rename

    monkeypatch.setattr(safe_files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "state.json", b"{}")
    monkeypatch.setattr(safe_files.os, "replace", real_replace)
    assert safe_files.TEMP_NAME.match(seen[0])


def test_a_file_set_replaces_every_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    write_file_set([(tmp_path / "a.md", b"one"), (tmp_path / "a.json", b"1")], tag="c1")
    write_file_set([(tmp_path / "a.md", b"two"), (tmp_path / "a.json", b"2")], tag="c2")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.json", "a.md"]
    assert (tmp_path / "a.md").read_bytes() == b"two"
    assert (tmp_path / "a.json").read_bytes() == b"2"


def test_a_set_killed_before_its_commit_leaves_the_old_set_and_no_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_file_set([(tmp_path / "a.md", b"old"), (tmp_path / "a.json", b"old")], tag="c1")

    def killed(path: Path, data: bytes) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(file_sets, "atomic_write_bytes", killed)  # the commit marker
    with pytest.raises(KeyboardInterrupt):
        write_file_set([(tmp_path / "a.md", b"new"), (tmp_path / "a.json", b"new")], tag="c2")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "a.md": b"old",
        "a.json": b"old",
    }


def test_a_set_killed_after_its_commit_is_completed_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_file_set([(tmp_path / "a.md", b"old"), (tmp_path / "a.json", b"old")], tag="c1")
    real_replace = os.replace
    calls = []

    def replace_once(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 3:  # marker written; first file renamed; killed before the second
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(safe_files.os, "replace", replace_once)
    with pytest.raises(KeyboardInterrupt):
        write_file_set([(tmp_path / "a.md", b"new"), (tmp_path / "a.json", b"new")], tag="c2")
    monkeypatch.setattr(safe_files.os, "replace", real_replace)
    assert (tmp_path / "a.md").read_bytes() == b"new"
    assert (tmp_path / "a.json").read_bytes() == b"old"  # a mix, until the next start
    remove_stale_temp_files(tmp_path, now=time.time())
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "a.md": b"new",
        "a.json": b"new",
    }


def test_pending_files_without_a_commit_are_dropped_by_recovery(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"old")
    pending = tmp_path / ".a.json.set-c9.tmp"
    pending.write_bytes(b"half")
    assert recover_file_sets(tmp_path) == [pending]
    assert (tmp_path / "a.json").read_bytes() == b"old"


def test_a_markdown_report_of_another_cycle_is_rewritten_by_the_next_cycle(
    demo: Path,  # noqa: F811
) -> None:
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    markdown = home_of(demo) / "output" / "reports" / "status" / "master_status.md"
    markdown.write_text("# from an older cycle (cycle 20200101T000000-abcdef).\n")
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert f"(cycle {report(demo)['cycle_id']})" in markdown.read_text()


def test_a_cycle_start_removes_what_a_killed_write_left(demo: Path) -> None:  # noqa: F811
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    state = home_of(demo) / "state"
    stale = state / f".workflow_cache.json.{dead_pid()}-zz_zz_zz.tmp"
    stale.write_bytes(b"x" * 1000)
    assert run("--config", str(demo), "--run-cycle")[0] == 0
    assert not stale.exists()


def test_an_edit_in_the_same_clock_tick_as_the_scan_is_caught_by_the_racy_rule(
    tmp_path: Path,
) -> None:
    from watchman.stages.workflows import scan_watched_folders

    workflow = tmp_path / "w.json"
    tick = 1_700_000_000_000_000_000
    workflow.write_text('{"1": {"class_type": "A", "inputs": {}}}')
    os.utime(workflow, ns=(tick, tick))
    first = scan_watched_folders([(tmp_path, "u")], {}, scan_started_ns=tick + 10**9)
    # Edited within the same tick: same size, and the file system gives the same mtime.
    workflow.write_text('{"1": {"class_type": "B", "inputs": {}}}')
    os.utime(workflow, ns=(tick, tick))
    later = tick + 3600 * 10**9
    second = scan_watched_folders([(tmp_path, "u")], first.entries, scan_started_ns=later)
    assert second.workflows[0].parsed is not None
    assert second.workflows[0].parsed.node_types == ("B",)
    # Now safely older than the scan that hashed it: trusted without reading.
    third = scan_watched_folders([(tmp_path, "u")], second.entries, scan_started_ns=later + 10**9)
    assert third.files_hashed == 0


def test_an_edit_that_restores_size_and_mtime_is_seen_through_the_ctime(tmp_path: Path) -> None:
    from watchman.stages.workflows import scan_watched_folders

    if os.name != "posix":
        pytest.skip("only POSIX keeps a ctime that every write sets")
    workflow = tmp_path / "w.json"
    old = 1_600_000_000_000_000_000
    workflow.write_text('{"1": {"class_type": "A", "inputs": {}}}')
    os.utime(workflow, ns=(old, old))
    now = old + 86400 * 10**9
    first = scan_watched_folders([(tmp_path, "u")], {}, scan_started_ns=now)
    workflow.write_text('{"1": {"class_type": "B", "inputs": {}}}')  # like cp -p
    os.utime(workflow, ns=(old, old))
    again = scan_watched_folders([(tmp_path, "u")], first.entries, scan_started_ns=now + 10**9)
    assert again.workflows[0].parsed is not None
    assert again.workflows[0].parsed.node_types == ("B",)


def test_a_full_rehash_reads_every_file_even_when_its_stamps_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchman.stages import workflow_entries, workflows

    # As on a file system whose ctime says nothing (Windows): only the re-hash sees it.
    monkeypatch.setattr(workflow_entries, "_ctime_ns", lambda stat: None)
    workflow = tmp_path / "w.json"
    old = 1_600_000_000_000_000_000
    workflow.write_text('{"1": {"class_type": "A", "inputs": {}}}')
    os.utime(workflow, ns=(old, old))
    now = old + 86400 * 10**9
    first = workflows.scan_watched_folders([(tmp_path, "u")], {}, scan_started_ns=now)
    workflow.write_text('{"1": {"class_type": "B", "inputs": {}}}')
    os.utime(workflow, ns=(old, old))
    entries = first.entries
    trusted = workflows.scan_watched_folders([(tmp_path, "u")], entries, scan_started_ns=now)
    assert trusted.files_hashed == 0  # size and mtime alone cannot see it
    full = workflows.scan_watched_folders(
        [(tmp_path, "u")], entries, scan_started_ns=now, rehash_all=True
    )
    assert full.workflows[0].parsed is not None
    assert full.workflows[0].parsed.node_types == ("B",)


def test_the_full_rehash_falls_due_after_its_period_and_wakes_an_unchanged_cycle(
    demo: Path,  # noqa: F811
) -> None:
    import json as json_module

    from watchman.config_loading import load_settings
    from watchman.home import Home
    from watchman.stages.workflows import REHASH_STAMP, full_rehash_due

    assert run("--config", str(demo), "--run-cycle")[0] == 0
    home = Home(home_of(demo))
    settings = load_settings(demo, environ={})
    stamp = home.state_dir / REHASH_STAMP
    last = stamp.stat().st_mtime_ns
    hours = settings.workflows.full_rehash_hours
    period = int(hours * 3600) * 10**9
    assert full_rehash_due(stamp, hours, last + period - 1) == (False, last + period)
    assert full_rehash_due(stamp, hours, last + period)[0] is True
    assert full_rehash_due(stamp, 0, last + period) == (False, None)
    saved = json_module.loads((home.state_dir / "cycle_fingerprint.json").read_text())
    assert saved["due_at_ns"] <= last + period  # an unchanged cycle is woken by it
    events = [
        json_module.loads(line)
        for line in (home.log_dir / "structured.log").read_text().splitlines()
        if line
    ]
    stages = [e for e in events if e.get("event") == "stage"]
    assert [e["full_rehash"] for e in stages if e.get("phase") == "workflows"] == [True]
