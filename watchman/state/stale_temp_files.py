"""What killed writes leave behind, cleaned at the next start: temporary files whose
writer is gone or that are too old, and the leftovers of file sets, under the tool's home
only."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path

from watchman.state.file_sets import SET_MARKER, SET_PENDING, recover_file_sets
from watchman.state.safe_files import TEMP_NAME

logger = logging.getLogger(__name__)

STALE_TEMP_SECONDS = 3600
"""A temporary file this old is stale whoever wrote it: no write takes an hour."""
# The form before the pid was added to the name: .<name>.<mkstemp's 8 characters>.
_OLD_TEMP = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}$")


def remove_stale_temp_files(home: Path, now: float) -> list[Path]:
    """Delete the temporary files killed writes left under ``home``; return them.

    Takes the tool's home folder (nothing outside it is looked at, links are not
    followed) and the current time (seconds since the epoch, from the process's clock).
    Only the names the tool's own writers use are touched: a temporary file whose writer is
    gone or that is older than ``STALE_TEMP_SECONDS`` (one of the form before the pid was
    added, ``.<name>.<random>``, only when older and beside ``<name>``), and a file set's
    leftovers (see :func:`recover_file_sets`). Never raises: what cannot be removed is
    logged.
    """
    removed: list[Path] = []
    for folder, _, names in os.walk(home):
        if any(SET_MARKER.match(name) or SET_PENDING.match(name) for name in names):
            removed.extend(recover_file_sets(Path(folder)))
            with contextlib.suppress(OSError):
                names = os.listdir(folder)
        for name in names:
            match = TEMP_NAME.match(name)
            old = _OLD_TEMP.match(name) if match is None else None
            # The old form has no pid: only beside the file it was to replace.
            if match is None and (old is None or old["target"] not in names):
                continue
            path = Path(folder) / name
            try:
                age = now - path.lstat().st_mtime
            except OSError:
                continue
            writer_gone = match is not None and not _writer_alive(int(match["pid"]))
            if writer_gone or age > STALE_TEMP_SECONDS:
                try:
                    path.unlink()
                except OSError as error:
                    logger.warning("Cannot remove stale temporary file %s: %s", path, error)
                    continue
                removed.append(path)
    if removed:
        logger.info("Removed %d temporary file(s) left by interrupted writes.", len(removed))
    return removed


def _writer_alive(pid: int) -> bool:
    # Our own id is a writer that is alive (another thread may be writing right now).
    if pid == os.getpid():
        return True
    # Imported here: most cycles find no temporary file left, and start-up is most of what
    # an unchanged cycle from cron costs.
    import psutil

    return bool(psutil.pid_exists(pid))
