"""Atomic writes, corrupt-file handling, append-only logs and the run lock."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from watchman.errors import LockHeldError
from watchman.state.safe_files import (
    RunLock,
    append_jsonl,
    atomic_write_json,
    read_json_state,
    read_jsonl,
    write_chunks_if_changed,
    write_json_if_changed,
)


def test_an_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "state" / "x.json"
    atomic_write_json(target, {"schema_version": 1, "a": 1})
    assert read_json_state(target, 1) == {"schema_version": 1, "a": 1}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"schema_version": 1, "a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"schema_version": 1, "a": object()})
    assert read_json_state(target, 1) == {"schema_version": 1, "a": 1}


def test_an_unchanged_document_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    assert write_json_if_changed(target, {"b": 2, "a": 1}) is True
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert write_json_if_changed(target, {"a": 1, "b": 2}) is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert write_json_if_changed(target, {"a": 2}) is True


def test_streamed_bytes_are_written_only_when_they_differ_and_leave_no_temp_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "state" / "x.json"
    assert write_chunks_if_changed(target, iter([b"{", b'"a": 1', b"}"])) is True
    assert target.read_bytes() == b'{"a": 1}'
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert write_chunks_if_changed(target, iter([b'{"a"', b": 1}"])) is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert write_chunks_if_changed(target, iter([b'{"a": 2}'])) is True
    assert target.read_bytes() == b'{"a": 2}'
    assert sorted(path.name for path in target.parent.iterdir()) == ["x.json"]


def test_a_stream_that_fails_midway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_bytes(b"old")

    def failing():
        yield b"new"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_chunks_if_changed(target, failing())
    assert target.read_bytes() == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x.json"]


def test_a_corrupt_state_file_is_set_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "x.json"
    target.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert read_json_state(target, 1) is None
    assert not target.exists()
    aside = list(tmp_path.glob("x.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == "{not json"
    assert "rebuilding" in caplog.text


def test_a_state_file_of_another_version_is_kept_aside_as_such_not_called_corrupt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"schema_version": 99})
    with caplog.at_level(logging.INFO):
        assert read_json_state(target, 1) is None
    assert list(tmp_path.glob("x.json.schema-99-*")) and not list(tmp_path.glob("*.corrupt-*"))
    assert "another version of comfywatchman" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_state_file_with_a_nonsense_schema_version_is_set_aside_as_corrupt(
    tmp_path: Path,
) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"schema_version": "two"})
    assert read_json_state(target, 1) is None
    assert list(tmp_path.glob("x.json.corrupt-*"))


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_fresh(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'{"n": 2, "tor')
    append_jsonl(log, {"n": 3})
    assert [record["n"] for record in read_jsonl(log)] == [1, 3]


def test_a_second_holder_of_the_run_lock_is_refused(tmp_path: Path) -> None:
    lock_path = tmp_path / "cycle.lock"
    with RunLock(lock_path):
        with pytest.raises(LockHeldError, match="Another comfywatchman cycle is running"):
            with RunLock(lock_path):
                pass
    with RunLock(lock_path):
        pass  # released: it can be taken again


def test_the_run_lock_excludes_another_process(tmp_path: Path) -> None:
    lock_path = tmp_path / "cycle.lock"
    script = (
        "import sys\n"
        "from watchman.state.safe_files import RunLock\n"
        "from watchman.errors import LockHeldError\n"
        "try:\n"
        f"    with RunLock(__import__('pathlib').Path({str(lock_path)!r})):\n"
        "        sys.exit(0)\n"
        "except LockHeldError:\n"
        "    sys.exit(3)\n"
    )
    with RunLock(lock_path):
        held = subprocess.run([sys.executable, "-c", script], check=False)
    free = subprocess.run([sys.executable, "-c", script], check=False)
    assert (held.returncode, free.returncode) == (3, 0)


def test_concurrent_cycle_state_updates_lose_no_write(tmp_path: Path) -> None:
    import threading

    from watchman.state.cycle_state import (
        CycleRecord,
        append_record,
        load_cycle_state,
        update_next_run,
    )

    path = tmp_path / "cycle_state.json"

    def add(number: int) -> None:
        append_record(path, CycleRecord(f"c{number}", "t", 0.0, "ran"))
        update_next_run(path, f"next-{number}")

    threads = [threading.Thread(target=add, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = load_cycle_state(path)
    assert sorted(record.cycle_id for record in state.records) == [f"c{n}" for n in range(8)]
    assert state.next_run is not None and state.next_run.startswith("next-")


def test_an_atomic_write_gives_the_file_the_usual_mode_not_owner_only(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    current = os.umask(0o022)
    os.umask(current)
    target = tmp_path / "metrics.prom"
    atomic_write_json(target, {"a": 1})
    assert target.stat().st_mode & 0o777 == 0o666 & ~current
