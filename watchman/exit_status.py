"""Exit statuses of the ``comfywatchman`` command: the contract scripts rely on."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What the process exit code means."""

    SUCCESS = 0  # the cycle ran, or a guard skipped it (a normal outcome)
    CYCLE_FAILED = 1  # the cycle started and failed
    USAGE = 2  # bad configuration or usage; ComfyUI not found
    LOCKED = 3  # another cycle holds the run lock
    SIGINT = 130  # stopped by SIGINT (Ctrl-C); the cycle is recorded as interrupted
    SIGTERM = 143  # stopped by SIGTERM; the cycle is recorded as interrupted
