"""A fault hook for the stop tests, loaded by a child ``python -m watchman`` through
``PYTHONPATH`` (Python imports ``sitecustomize`` at start): it slows each folder listing
one walk makes, so that a test can send a signal while that walk is under way.

``WATCHMAN_TEST_SLOW_WALK`` is the folder whose listings are slowed (it and below it),
``WATCHMAN_TEST_SLOW_CALLER`` the function whose calls are (``list_directory``: the
inventory's walks; ``discover_workflow_files``: the workflows stage's walk), and
``WATCHMAN_TEST_WALK_STARTED`` a file touched at the first slowed listing. The command's
1.5 s fallback after a signal is lengthened, so that only the walk's own check of the
stop can end the cycle in the walk.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

PAUSE_SECONDS = 0.2  # per folder: a 60-folder tree takes 12 s to walk


def _install(prefix: str, caller: str, marker: Path) -> None:
    real_scandir = os.scandir

    def slow_scandir(path: Any = ".") -> Any:
        if str(path).startswith(prefix) and sys._getframe(1).f_code.co_name == caller:
            marker.touch()
            time.sleep(PAUSE_SECONDS)
        return real_scandir(path)

    # Before watchman is imported: defaults bound to os.scandir take the slow one too.
    os.scandir = slow_scandir  # type: ignore[assignment]
    import watchman.commands.actions as actions

    # Fail loudly if the fallback moves: setting a name nobody reads would let the
    # fallback, not the walk, end the cycle, and the test would prove nothing.
    if not hasattr(actions, "STOP_GRACE_SECONDS"):
        raise SystemExit("the stop fallback is no longer watchman.commands.actions")
    actions.STOP_GRACE_SECONDS = 600.0


if os.environ.get("WATCHMAN_TEST_SLOW_WALK"):
    _install(
        os.environ["WATCHMAN_TEST_SLOW_WALK"],
        os.environ["WATCHMAN_TEST_SLOW_CALLER"],
        Path(os.environ["WATCHMAN_TEST_WALK_STARTED"]),
    )
