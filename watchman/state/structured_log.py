"""``log/structured.log``: one JSON object a line per stage and per cycle.

Meant for machines (jq, Loki, a dashboard) and for a person asking "what did the last
cycle do and how long did each stage take".
"""

from __future__ import annotations

import logging
import os
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


KEPT_GENERATIONS = 3
"""How many earlier structured logs :func:`rotate` keeps (``structured.log.1`` … ``.3``)."""


def rotate(path: Path, max_bytes: int) -> bool:
    """Rename ``path`` to ``path.1`` (``.1`` to ``.2`` … the oldest dropped) when it is
    larger than ``max_bytes`` (0: never), so the next line begins a new file; return
    whether it did. Each writer opens the file per line, so none keeps writing to the
    renamed one.

    Never raises: a log that cannot be rotated is said through ``logging`` and kept.
    """
    if max_bytes <= 0:
        return False
    try:
        if path.stat().st_size <= max_bytes:
            return False
        for generation in range(KEPT_GENERATIONS - 1, 0, -1):
            older = path.with_name(f"{path.name}.{generation}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{generation + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
    except FileNotFoundError:
        return False
    except OSError as error:
        logger.warning("Cannot rotate %s: %s", path, error)
        return False
    return True
