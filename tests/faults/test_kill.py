"""The SIGKILL harness, short: a few real cycles killed at random moments over a changing
tree; ``make faults`` runs it long (tests/faults/run_faults.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.kill_harness import run_kill_harness


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_cycles_killed_at_random_moments_leave_state_whole(tmp_path: Path) -> None:
    figures = run_kill_harness(tmp_path, kills=3, seed=5, check_every=3, files=40)
    assert figures.kills == 3
    assert figures.clean_cycles >= 1
    assert figures.failures == 0, figures.problems
