"""The run lock refuses a second holder, in this process or another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from watchman.errors import LockHeldError
from watchman.state.run_lock import RunLock


def test_a_second_holder_of_the_run_lock_is_refused(tmp_path: Path) -> None:
    lock_path = tmp_path / "cycle.lock"
    with RunLock(lock_path):
        with pytest.raises(LockHeldError, match="Another comfywatchman cycle is running"):
            with RunLock(lock_path):
                pass
    with RunLock(lock_path):
        pass  # released: it can be taken again


def test_the_run_lock_excludes_another_process(tmp_path: Path) -> None:
    lock_path = tmp_path / "cycle.lock"
    script = (
        "import sys\n"
        "from watchman.state.run_lock import RunLock\n"
        "from watchman.errors import LockHeldError\n"
        "try:\n"
        f"    with RunLock(__import__('pathlib').Path({str(lock_path)!r})):\n"
        "        sys.exit(0)\n"
        "except LockHeldError:\n"
        "    sys.exit(3)\n"
    )
    with RunLock(lock_path):
        held = subprocess.run([sys.executable, "-c", script], check=False)
    free = subprocess.run([sys.executable, "-c", script], check=False)
    assert (held.returncode, free.returncode) == (3, 0)
