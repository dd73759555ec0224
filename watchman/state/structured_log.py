"""``log/structured.log``: one JSON object a line per stage and per cycle.

Meant for machines (jq, Loki, a dashboard) and for a person asking "what did the last
cycle do and how long did each stage take".
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from watchman.state.safe_files import append_jsonl

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def utc_now_iso() -> str:
    """Return the current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_event(path: Path, event: str, **fields: Any) -> None:
    """Append one structured event (``event`` is ``stage`` or ``cycle``).

    Never raises: a log that cannot be written must not end a cycle, so the failure is
    reported through ``logging`` instead.
    """
    record = {"time": utc_now_iso(), "schema_version": SCHEMA_VERSION, "event": event, **fields}
    try:
        append_jsonl(path, record)
    except OSError as error:
        logger.warning("Cannot write %s: %s", path, error)
