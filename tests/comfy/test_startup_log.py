"""ComfyUI's start-up log: which packs its last start failed to import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.named_pipes import finishes, needs_fifo
from watchman.comfy import startup_log
from watchman.comfy.startup_log import (
    configured_logs,
    failed_imports_in,
    input_directory_in,
    read_import_failures,
    read_startup_logs,
    startup_logs,
)

START = b"""[START] Security scan
Total VRAM 24576 MB
Import times for custom nodes:
   0.0 seconds: /home/me/ComfyUI/custom_nodes/websocket_image_save.py
   0.0 seconds (IMPORT FAILED): /home/me/ComfyUI/custom_nodes/ComfyUI-Broken
   0.4 seconds: /home/me/ComfyUI/custom_nodes/ComfyUI-Fine
   1.2 seconds (IMPORT FAILED): C:\\ComfyUI\\custom_nodes\\was-node-suite-comfyui

Starting server

To see the GUI go to: http://127.0.0.1:8188
"""


def test_the_packs_marked_import_failed_are_named_by_their_folder_on_either_system() -> None:
    assert failed_imports_in(START) == {"ComfyUI-Broken", "was-node-suite-comfyui"}


def test_the_last_start_in_a_log_counts_and_its_block_ends_at_the_first_other_line() -> None:
    again = START.replace(b"(IMPORT FAILED): /home", b": /home").replace(
        b"1.2 seconds (IMPORT FAILED)", b"1.2 seconds"
    )
    assert failed_imports_in(START + again) == frozenset()
    block_then_noise = (
        b"Import times for custom nodes:\n   0.1 seconds: /a/b\nprint (IMPORT FAILED): x\n"
    )
    assert failed_imports_in(block_then_noise) == frozenset()


def test_a_block_kept_by_a_journal_or_written_on_windows_reads_the_same() -> None:
    journal = b"".join(
        b"Dec 01 05:00:0" + str(number).encode() + b" box python3[812]: " + line + b"\r\n"
        for number, line in enumerate(START.splitlines())
    )
    assert failed_imports_in(journal) == {"ComfyUI-Broken", "was-node-suite-comfyui"}


def test_a_stranger_s_line_of_blanks_in_the_block_is_read_as_one_path() -> None:
    # Linear in the line (a lazy pattern took 14 s for 40 KB of blanks).
    line = b"   0.0 seconds (IMPORT FAILED): /c/custom_nodes/Pack" + b" " * 400_000 + b"x\n"
    [name] = failed_imports_in(b"Import times for custom nodes:\n" + line)
    assert name.startswith("Pack ") and name.endswith("x")


@pytest.mark.parametrize("text", [b"", b"Total VRAM 24576 MB\n", b"\x00\xff" * 100])
def test_a_log_without_import_times_says_nothing(text: bytes) -> None:
    assert failed_imports_in(text) is None


def _write(path: Path, data: bytes, mtime: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_the_newest_log_is_read_and_rotated_copies_are_not(tmp_path: Path) -> None:
    _write(tmp_path / "user" / "comfyui.log", b"old", 1_000)
    newest = _write(tmp_path / "user" / "comfyui_8189.log", START, 3_000)
    _write(tmp_path / "user" / "comfyui.prev.log", b"older", 5_000)
    _write(tmp_path / "comfyui.log", b"root", 2_000)
    assert startup_logs(tmp_path) == [
        newest,
        tmp_path / "comfyui.log",
        tmp_path / "user" / "comfyui.log",
    ]
    failures = read_import_failures(tmp_path)
    assert failures is not None and failures.log == newest
    assert failures.written_ns == 3_000 * 10**9
    assert failures.packs == {"ComfyUI-Broken", "was-node-suite-comfyui"}


def test_a_start_not_yet_at_its_import_times_makes_no_older_log_the_truth(tmp_path: Path) -> None:
    _write(tmp_path / "user" / "comfyui.log", b"[START] Security scan\n", 2_000)
    _write(tmp_path / "comfyui.log", START, 1_000)
    assert read_import_failures(tmp_path) is None


def test_no_log_or_one_that_is_a_folder_is_nothing_known(tmp_path: Path) -> None:
    assert read_import_failures(tmp_path) is None
    (tmp_path / "user" / "comfyui.log").mkdir(parents=True)
    assert read_import_failures(tmp_path) is None


def test_a_huge_log_is_read_at_its_start_and_its_end_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup_log, "MAX_LOG_BYTES", 4_096)
    log = tmp_path / "user" / "comfyui.log"
    _write(log, b"x" * 4_096 + START + b"y" * 4_096, 1_000)
    assert read_import_failures(tmp_path) is None  # the block is in neither window
    # A log appended start after start: the newest block is near its end.
    all_fine = START.replace(b" (IMPORT FAILED)", b"")
    _write(log, START + b"x" * 10_000 + all_fine, 1_000)
    failures = read_import_failures(tmp_path)
    assert failures is not None and failures.packs == frozenset()
    # One long session: the block stays near the start and the end has none.
    _write(log, START + b"x" * 10_000, 1_000)
    failures = read_import_failures(tmp_path)
    assert failures is not None and failures.packs == {"ComfyUI-Broken", "was-node-suite-comfyui"}


def test_a_log_the_settings_name_counts_when_it_is_the_newest(tmp_path: Path) -> None:
    _write(tmp_path / "user" / "comfyui.log", b"[START]\n", 1_000)
    teed = _write(tmp_path / "logs" / "comfy-out.txt", START, 2_000)
    home = tmp_path / "me"
    _write(home / "other.txt", b"Import times for custom nodes:\n", 500)
    extra = configured_logs([Path("logs/comfy-out.txt"), Path("~/other.txt")], tmp_path, home)
    assert extra == [teed, home / "other.txt"]
    assert startup_logs(tmp_path, extra) == [
        teed,
        tmp_path / "user" / "comfyui.log",
        home / "other.txt",
    ]
    failures = read_import_failures(tmp_path, extra)
    assert failures is not None and failures.log == teed
    assert failures.packs == {"ComfyUI-Broken", "was-node-suite-comfyui"}
    missing = configured_logs([Path("/nowhere/log.txt")], tmp_path, home)
    assert startup_logs(tmp_path, missing) == [tmp_path / "user" / "comfyui.log"]


def test_a_log_s_identity_changes_at_a_new_start_and_when_its_import_times_arrive(
    tmp_path: Path,
) -> None:
    assert read_startup_logs(tmp_path).identity() == [None, None]
    log = _write(tmp_path / "user" / "comfyui.log", b"[START]\n", 1_000)
    starting = read_startup_logs(tmp_path).identity()
    assert starting == [(str(log), os.stat(log).st_ino), None, None]
    with log.open("ab") as appended:
        appended.write(b"Total VRAM 24576 MB\n")
    assert (
        read_startup_logs(tmp_path).identity() == starting
    )  # lines of the start that change nothing
    with log.open("ab") as appended:
        appended.write(START)
    started = read_startup_logs(tmp_path).identity()
    assert started == [
        (str(log), os.stat(log).st_ino),
        ["ComfyUI-Broken", "was-node-suite-comfyui"],
        None,
    ]
    with log.open("ab") as appended:
        appended.write(b"got prompt\nPrompt executed in 3.1 seconds\n" * 50)
    assert read_startup_logs(tmp_path).identity() == started  # ComfyUI running and writing on
    (tmp_path / "user" / "comfyui.db-journal").write_bytes(b"")  # its database beside it
    assert read_startup_logs(tmp_path).identity() == started
    log.rename(tmp_path / "user" / "comfyui.prev.log")  # the next start
    _write(tmp_path / "user" / "comfyui.log", b"[START]\n", 2_000)
    assert read_startup_logs(tmp_path).identity() != started


@needs_fifo
def test_a_named_pipe_under_the_log_s_name_is_skipped_not_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "user" / "comfyui.log"
    pipe.parent.mkdir()
    os.mkfifo(pipe)
    assert finishes(lambda: read_import_failures(tmp_path), [pipe]) is None


def test_the_input_folder_a_start_was_given_is_that_start_s_own() -> None:
    given = b"[2026-12-01 09:00:00.1] Setting input directory to: /data/comfy/input\r\n"
    assert input_directory_in(given + START) == "/data/comfy/input"
    assert input_directory_in(START) is None
    # A later start without the option uses the default: the earlier line is not its.
    assert input_directory_in(given + START + START) is None
    assert input_directory_in(given) is None  # no import times yet: that start is not over
    too_long = b"Setting input directory to: /" + b"x" * 5000 + b"\n"
    assert input_directory_in(too_long + START) is None


def test_a_logged_input_folder_counts_only_where_it_exists_and_the_setting_wins(
    tmp_path: Path,
) -> None:
    from watchman.stages.input_needs import input_folder_path

    root, there = tmp_path / "ComfyUI", tmp_path / "desktop" / "input"
    there.mkdir(parents=True)
    assert input_folder_path(None, root, tmp_path, str(there)) == there
    assert input_folder_path(None, root, tmp_path, "/in/a/container/input") == root / "input"
    assert input_folder_path(Path("mine"), root, tmp_path, str(there)) == root / "mine"
    # The launcher's folder counts after the log (what the last start used), even before
    # the launcher made it.
    shared = tmp_path / "ComfyUI-Shared" / "input"
    assert input_folder_path(None, root, tmp_path, str(there), shared) == there
    assert input_folder_path(None, root, tmp_path, None, shared) == shared
    assert input_folder_path(Path("mine"), root, tmp_path, None, shared) == root / "mine"


@given(st.binary(max_size=2_000), st.lists(st.binary(max_size=80), max_size=8))
def test_any_bytes_read_as_a_log_give_an_answer_never_an_error(
    noise: bytes, lines: list[bytes]
) -> None:
    text = noise + b"\n".join([b"Import times for custom nodes:", *lines]) if lines else noise
    failed = failed_imports_in(text)
    folder = input_directory_in(text)
    assert folder is None or (folder and "\n" not in folder)
    assert (failed is None) == (b"Import times for custom nodes:" not in text)
    assert failed is None or all(name and "/" not in name and "\\" not in name for name in failed)
