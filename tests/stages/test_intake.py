"""Intake: new and updated workflows are logged once; the log lists newest first."""

from __future__ import annotations

from pathlib import Path

from watchman.stages.intake import (
    WatchedWorkflow,
    detect_changes,
    last_seen_hashes,
    list_intake,
    record_intake,
)


def watched(path: str, sha: str) -> WatchedWorkflow:
    return WatchedWorkflow(Path(path), "comfyui", 10, 1, sha)


def test_a_new_workflow_is_new_an_unchanged_one_is_nothing_a_changed_one_is_updated(
    tmp_path: Path,
) -> None:
    log = tmp_path / "intake_log.jsonl"
    first = detect_changes([watched("/w/a.json", "h1"), watched("/w/b.json", "h2")], {}, "t1")
    record_intake(log, first)
    assert [entry.event for entry in first] == ["new", "new"]
    again = detect_changes(
        [watched("/w/a.json", "h1"), watched("/w/b.json", "h2")], last_seen_hashes(log), "t1b"
    )
    assert again == ()
    changed = detect_changes(
        [watched("/w/a.json", "h9"), watched("/w/b.json", "h2")], last_seen_hashes(log), "t2"
    )
    record_intake(log, changed)
    assert [(e.path, e.event, e.sha256) for e in changed] == [("/w/a.json", "updated", "h9")]


def test_the_listing_is_newest_first_and_limited(tmp_path: Path) -> None:
    log = tmp_path / "intake_log.jsonl"
    for number in range(5):
        record_intake(log, detect_changes([watched(f"/w/{number}.json", "h")], {}, f"t{number}"))
    listed = list_intake(log, limit=2)
    assert [entry.path for entry in listed] == ["/w/4.json", "/w/3.json"]
    assert len(list_intake(log)) == 5


def test_a_torn_line_in_the_log_is_skipped_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "intake_log.jsonl"
    record_intake(log, detect_changes([watched("/w/a.json", "h")], {}, "t"))
    with log.open("ab") as handle:
        handle.write(b'{"time": "t", "path": "/w/b.js')
    assert [entry.path for entry in list_intake(log)] == ["/w/a.json"]
