"""Giving memory back to the system while the scheduler waits for its next cycle.

A cycle that ran in full builds large short-lived structures (inventories, parsed
workflows, documents). Python returns freed small objects to its own pools, not to the
system, and glibc keeps freed heap pages; the resident daemon sits beside renders that need
the RAM. After each cycle the scheduler collects garbage once and, on glibc, asks
``malloc_trim(0)`` to hand free heap pages back. Within a full cycle, once a stage's large
structures are let go, :func:`trim_heap` hands their pages back without a collection:
the next stage then builds in fresh pages instead of around the holes the last one left,
which kept a cycle's peak about 20 MiB higher at 100,000 models (issue 14).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)

_trim: Callable[[int], int] | None = None
_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim``, or None elsewhere (musl, macOS, Windows)."""
    global _trim, _looked_up
    if _looked_up:
        return _trim
    _looked_up = True
    if not sys.platform.startswith("linux"):
        return None
    try:
        library = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = library.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc: nothing to trim this way
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    _trim = function
    return _trim


def release_memory() -> None:
    """Collect garbage and return free heap pages to the system where the C library
    allows it. Never raises."""
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """Return free heap pages to the system where the C library allows it (glibc's
    ``malloc_trim``); no garbage collection, so it costs a walk of the heap only. Never
    raises."""
    trim = _malloc_trim()
    if trim is None:
        return
    try:
        trim(0)
    except OSError as error:  # pragma: no cover - a broken C library
        logger.debug("malloc_trim failed: %s", error)
