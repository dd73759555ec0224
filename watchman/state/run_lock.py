"""The run lock: one cycle at a time, across processes."""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from watchman.errors import LockHeldError


class RunLock:
    """The lock that keeps two cycles (service and cron) from overlapping.

    Use as a context manager; entering raises ``LockHeldError`` at once when another
    process holds it. The lock is an OS file lock, so a crashed holder releases it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path), timeout=0)

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise LockHeldError(
                f"Another comfywatchman cycle is running (lock {self.path}); "
                "try again when it ends."
            ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    @property
    def is_held(self) -> bool:
        return self._lock.is_locked
