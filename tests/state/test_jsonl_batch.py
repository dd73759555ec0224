"""Appending many JSON lines at once: one write and one fsync, whole lines only."""

from __future__ import annotations

from watchman.state.safe_files import append_jsonl_lines, read_jsonl


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
