"""Clocks the guards and the scheduler read, behind one small protocol so tests can fake them.

Three readings matter:

- ``monotonic``: seconds that never jump and stop while the machine is suspended
  (Linux ``CLOCK_MONOTONIC``, macOS ``mach_absolute_time``).
- ``boottime``: seconds since boot, counting time spent suspended. On Linux this is
  ``CLOCK_BOOTTIME``; elsewhere it is the wall clock minus ``psutil.boot_time()``.
- ``wall``: seconds since the epoch (``time.time()``).

``boottime - monotonic`` then grows by the time spent suspended. On Linux that difference is
exact. Elsewhere it is a drift signal between the wall clock and the monotonic clock: it
grows across a sleep where the monotonic clock stops (macOS), and it also grows when the
wall clock is stepped forward (which merely costs one extra grace period). On Windows the
monotonic clock keeps counting during sleep, so no resume is seen there; the boot guard
still works.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Protocol

RACY_NANOSECONDS = 2_000_000_000
"""The coarsest file-system timestamp in common use (FAT: 2 s; HFS+ 1 s; ext4 and NTFS
finer, but the kernel's clock ticks coarsely): a folder or file modified this close to the
moment it was listed or stamped may change again within the same tick, unseen (git's
"racy" rule)."""


class Clock(Protocol):
    """What the guards and the scheduler need to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that stops during suspend and never jumps."""
        ...

    def boottime(self) -> float:
        """Seconds since boot, including time spent suspended."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The machine's clocks (see the module docstring for each platform)."""

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def boottime(self) -> float:
        """Return seconds since boot including suspend (``CLOCK_BOOTTIME`` on Linux)."""
        if sys.platform.startswith("linux"):
            return time.clock_gettime(time.CLOCK_BOOTTIME)
        import psutil  # only where CLOCK_BOOTTIME is missing

        return time.time() - psutil.boot_time()

    def wall(self) -> float:
        """Return ``time.time()``."""
        return time.time()


def utc_iso(wall_seconds: float) -> str:
    """Return a wall-clock reading as ISO 8601 in UTC, to the millisecond, with a ``Z``."""
    moment = datetime.fromtimestamp(wall_seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
