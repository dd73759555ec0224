"""Tolerant reads of the JSON state files: a file that cannot be parsed, or that another
version of the tool wrote, is set aside under a name that says why and rebuilt, never
allowed to stop the daemon."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from watchman.state.json_codec import loads_json

logger = logging.getLogger(__name__)


SCHEMA_VERSION_KEY = "schema_version"


def set_aside_corrupt(path: Path, reason: str) -> Path | None:
    """Move an unreadable state file to ``<name>.corrupt-<time>`` and warn.

    Returns:
        The new path, or None when the file could not be moved.
    """
    return _set_aside(path, "corrupt", f"was unreadable ({reason})", logging.WARNING)


def _set_aside(path: Path, tag: str, why: str, level: int) -> Path | None:
    """Move ``path`` to ``<name>.<tag>-<time>`` (a free name), log ``why`` at ``level``,
    and return the new path (None when it could not be moved)."""
    # Named by when the file was last written (its own mtime, UTC), not by reading the
    # clock: that is the moment a person looking into it wants, and it needs no clock.
    try:
        written = os.stat(path).st_mtime
    except OSError:
        written = 0.0
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(written))
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{counter}")
        counter += 1
    try:
        os.replace(path, target)
    except OSError as error:
        logger.warning("State file %s %s and cannot be moved: %s", path, why, error)
        return None
    logger.log(level, "State file %s %s; moved it to %s and rebuilding it.", path, why, target)
    return target


def read_json_state(path: Path, schema_version: int) -> dict[str, Any] | None:
    """Read a JSON state file written by this tool.

    Returns:
        The document, or None when the file is absent. A file that is not valid JSON, not
        an object, or without a readable ``schema_version`` is set aside
        (``*.corrupt-<time>``, a warning); one written by another version of the tool
        (another ``schema_version``) is kept as ``*.schema-<version>-<time>`` (an info
        line, since an upgrade is not damage). Either way None is returned, so the caller
        rebuilds it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        logger.warning("State file %s cannot be read (%s); rebuilding it.", path, error)
        return None
    try:
        document = loads_json(data)
    except ValueError as error:
        set_aside_corrupt(path, f"not valid JSON: {error}")
        return None
    if not isinstance(document, dict):
        set_aside_corrupt(path, "not a JSON object")
        return None
    found = document.get(SCHEMA_VERSION_KEY)
    if found != schema_version:
        if isinstance(found, int) and not isinstance(found, bool):
            # Not damage: an upgrade (or a downgrade) changed the file's layout. Kept under
            # a name that says so, in case the other version is wanted back.
            _set_aside(
                path,
                f"schema-{found}",
                f"was written by another version of comfywatchman (layout {found}; this "
                f"one reads {schema_version})",
                logging.INFO,
            )
        else:
            set_aside_corrupt(path, f"schema_version {found!r}, expected {schema_version}")
        return None
    return document
