"""Logging for people and for services.

A person at a terminal gets short human lines on stderr. A service (``--scheduler`` with
no terminal, e.g. under systemd or Task Scheduler) gets one JSON object a line, which the
journal and log shippers keep intact.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import orjson

from watchman import redaction
from watchman.printable import printable, visible


class JsonLineFormatter(logging.Formatter):
    """Format each record as one JSON object: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        # The time logging stamped on the record when it was made, not the time of writing.
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        document: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            # A file name that is not UTF-8 holds lone surrogates orjson cannot write.
            "message": printable(record.getMessage()),
        }
        if record.exc_info:
            document["exception"] = printable(self.formatException(record.exc_info))
        return orjson.dumps(document).decode()


class ShownOnTerminal(logging.Filter):
    """Writes a record's message with its control characters and reordering marks
    escaped (:func:`~watchman.printable.visible`): a message naming a stranger's file goes
    to a terminal, which would act on an escape sequence in the name. The traceback, kept
    apart in ``exc_info``, keeps its lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = visible(record.getMessage())
        record.args = None
        return True


FALLBACK_MAX_BYTES = 16 * 1000 * 1000
"""Past this size the fallback log file is renamed ``.1`` and a new one begun."""
FALLBACK_KEPT = 3
"""How many earlier fallback log files are kept."""


def configure_logging(
    level: str,
    *,
    stream: TextIO | None,
    json_lines: bool | None = None,
    handler: logging.Handler | None = None,
    fallback_file: Path | None = None,
) -> None:
    """Send log records to ``stream`` (the process's stderr) at ``level``.

    Args:
        level: a logging level name.
        stream: where messages go (``Environment.stderr``); None when the process has no
            stderr at all.
        json_lines: force JSON lines on or off; None picks JSON when ``stream`` is no
            terminal and plain text when it is.
        handler: use this handler instead (the CLI passes one that shares the terminal
            with its progress display).
        fallback_file: where JSON lines go when there is no stderr at all (pythonw.exe
            under Windows Task Scheduler).
    """
    if stream is None:
        if fallback_file is None:
            return  # nowhere to write; logging's last resort would fail as well
        fallback_file.parent.mkdir(parents=True, exist_ok=True)
        # Imported here: only a process without stderr needs it, and it costs a cron
        # start ~16 ms (it brings socket and pickle).
        from logging.handlers import RotatingFileHandler

        # Bounded as the structured log is: the daemon runs for months with no one reading.
        handler = RotatingFileHandler(
            fallback_file,
            maxBytes=FALLBACK_MAX_BYTES,
            backupCount=FALLBACK_KEPT,
            encoding="utf-8",
        )
        handler.setFormatter(JsonLineFormatter())
    if json_lines is None:
        json_lines = stream is None or not stream.isatty()
    if handler is None:
        handler = logging.StreamHandler(stream)
        if json_lines:
            handler.setFormatter(JsonLineFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not json_lines:
        handler.addFilter(ShownOnTerminal())  # JSON escapes such characters itself
    # Tokens, keys and cookies are redacted from every record, httpx's and httpcore's too.
    redaction.install()
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_comfywatchman", False):
            root.removeHandler(existing)
    handler._comfywatchman = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO; keep that for --debug only.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("apscheduler").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )
