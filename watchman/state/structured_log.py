"""``log/structured.log``: one JSON object a line per stage and per cycle.

Meant for machines (jq, Loki, a dashboard) and for a person asking "what did the last
cycle do and how long did each stage take".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchman.clocks import utc_iso
from watchman.state.jsonl import append_jsonl

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StructuredLog:
    """The structured log file and the wall clock its lines are dated by (the process's
    clock, handed down from ``main()``, so a test's fake clock dates them too)."""

    path: Path
    wall: Callable[[], float]

    def write(self, event: str, *, sync: bool = True, **fields: Any) -> None:
        """Append one structured event (``stage``, ``cycle``, ``download``…) with ``fields``;
        ``sync`` False: not fsynced (a progress line, worth less than a disk flush).

        Never raises: a log that cannot be written must not end a cycle, so the failure is
        reported through ``logging`` instead.
        """
        record = {
            "time": utc_iso(self.wall()),
            "schema_version": SCHEMA_VERSION,
            "event": event,
            **fields,
        }
        try:
            append_jsonl(self.path, record, sync=sync)
        except OSError as error:
            logger.warning("Cannot write %s: %s", self.path, error)
