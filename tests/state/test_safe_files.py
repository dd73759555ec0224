"""Atomic writes: no temporary file left, the old file kept when a write fails, an
unchanged document not rewritten, the usual file mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchman.state.json_codec import dumps_json, dumps_line, loads_json
from watchman.state.json_state import read_json_state
from watchman.state.safe_files import (
    atomic_write_chunks,
    atomic_write_json,
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


def test_chunks_are_written_in_order_and_a_failure_midway_keeps_the_old_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "cache.jsonl"
    atomic_write_chunks(target, (line for line in (b"header\n", b"a\n", b"b\n")))
    assert target.read_bytes() == b"header\na\nb\n"

    def failing():
        yield b"new\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write_chunks(target, failing())
    assert target.read_bytes() == b"header\na\nb\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache.jsonl"]


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


def test_an_integer_past_64_bits_is_written_and_read_back_as_a_double() -> None:
    # orjson refuses it; a stranger's number must not stop a state file or a log line.
    assert loads_json(dumps_json({"n": -(2**70)})) == {"n": float(-(2**70))}
    assert loads_json(dumps_line([2**64])) == [float(2**64)]
