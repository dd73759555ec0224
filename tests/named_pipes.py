"""Named pipes for tests: where they exist, and running what might block on one."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def finishes(action: Callable[[], object], pipes: list[Path], seconds: float = 20) -> object:
    """Run ``action`` in a thread and return what it returned or raised. If it is still
    running after ``seconds``, open every pipe for writing (which releases a reader
    blocked on it) and fail, so a regression fails the test instead of hanging it."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as error:  # handed to the test to inspect
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        for pipe in pipes:
            with open(os.open(pipe, os.O_RDWR | os.O_NONBLOCK), "wb"):
                pass
        worker.join(5)
        pytest.fail(f"still blocked after {seconds} s on a named pipe")
    return outcome[0]
