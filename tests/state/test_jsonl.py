"""Append-only JSON-lines logs: a torn last line skipped and closed off; many lines
appended at once with one write and one fsync, whole lines only."""

from __future__ import annotations

from pathlib import Path

from watchman.state.jsonl import append_jsonl, append_jsonl_lines, read_jsonl


def test_many_records_are_appended_as_lines_in_order(tmp_path):
    log = tmp_path / "state" / "intake_log.jsonl"
    append_jsonl_lines(log, [{"n": 1}, {"n": 2}])
    append_jsonl_lines(log, [{"n": 3}])
    assert [record["n"] for record in read_jsonl(log)] == [1, 2, 3]


def test_a_torn_last_line_is_closed_off_before_the_batch(tmp_path):
    log = tmp_path / "intake_log.jsonl"
    log.write_bytes(b'{"n": 1}\n{"n": 2')  # a crash mid-line
    append_jsonl_lines(log, [{"n": 3}, {"n": 4}])
    assert [record["n"] for record in read_jsonl(log)] == [1, 3, 4]


def test_no_records_write_nothing(tmp_path):
    log = tmp_path / "intake_log.jsonl"
    append_jsonl_lines(log, [])
    assert not log.exists()


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_fresh(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'{"n": 2, "tor')
    append_jsonl(log, {"n": 3})
    assert [record["n"] for record in read_jsonl(log)] == [1, 3]
