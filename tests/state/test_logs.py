"""Logging for a terminal, a service, and a service with no console at all."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from watchman.state.logs import JsonLineFormatter, configure_logging


def test_a_record_becomes_one_json_object() -> None:
    record = logging.LogRecord("watchman.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    document = json.loads(JsonLineFormatter().format(record))
    assert (document["level"], document["logger"], document["message"]) == (
        "WARNING",
        "watchman.x",
        "a b",
    )


@contextmanager
def root_logging_restored() -> Iterator[None]:
    """Give back the root logger's handlers and level as they were, closing those added."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        yield
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            if handler not in saved[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved[1])


def test_without_any_stderr_the_log_goes_to_the_fallback_file(tmp_path: Path) -> None:
    # pythonw.exe under Windows Task Scheduler has no stderr.
    target = tmp_path / "log" / "comfywatchman.log"
    with root_logging_restored():
        configure_logging("INFO", stream=None, json_lines=None, fallback_file=target)
        logging.getLogger("watchman.test").warning("still heard")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines[-1]["message"] == "still heard"


def test_a_terminal_is_sent_a_stranger_s_escape_sequences_escaped(tmp_path: Path) -> None:
    target = tmp_path / "terminal.txt"
    with target.open("w", encoding="utf-8") as terminal, root_logging_restored():
        configure_logging("INFO", stream=terminal, json_lines=False)
        logging.getLogger("watchman.test").warning("Cannot read %s", "x\x1b[2J\u202e.json")
    assert target.read_text(encoding="utf-8") == (
        "WARNING watchman.test: Cannot read x\\x1b[2J\\u202e.json\n"
    )


def test_the_fallback_file_is_rotated_past_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchman.state import logs

    monkeypatch.setattr(logs, "FALLBACK_MAX_BYTES", 2_000)
    target = tmp_path / "log" / "comfywatchman.log"
    with root_logging_restored():
        configure_logging("INFO", stream=None, json_lines=None, fallback_file=target)
        for number in range(100):
            logging.getLogger("watchman.test").warning("line %d", number)
    names = sorted(path.name for path in target.parent.iterdir())
    assert names == ["comfywatchman.log", *(f"comfywatchman.log.{n}" for n in (1, 2, 3))]
    assert all(path.stat().st_size <= 2_000 for path in target.parent.iterdir())
