"""A cache the cycle cannot write costs that cache, never the cycle.

Caches only save work; the report and the intake log are the product. Each cache a cycle
writes (the listings, the model and node caches, the model health verdicts, the workflow
parse cache, the needs cache, the resolution cache) is written through
:meth:`CacheFailures.write`: an ``OSError`` (a full disk, a folder that is not writable, a
folder where the file goes) becomes one warning sentence, logged, kept for the stage's
structured log line and the cycle's record (``status`` shows it), and the cycle goes on
without that cache.

What was not saved is not trusted afterwards: the cycle forgets its fingerprint, so the
next one runs in full (:mod:`watchman.cycle`). Every cache file is written atomically (a
temporary file replaced into place, :mod:`watchman.state.safe_files`), so a file that
could not be written keeps what it held, whole, and each cache checks its entries against
what they stand for. The files that stand for one another are kept in step where they are
written: the model cache with the model listings (``stages/inventory/stock``), the needs
cache under the model cache (``stages/needs_cache``), the full re-hash stamp with the
workflow parse cache (``stages/workflows``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class CacheFailure:
    """One cache a cycle could not write: which (``cache``, in words), where, and why."""

    cache: str
    path: str
    reason: str

    def sentence(self) -> str:
        """The warning, in one sentence."""
        return (
            f"The {self.cache} could not be written ({self.path}: {self.reason}); "
            "the cycle went on without it and the next one runs in full."
        )


@dataclass
class CacheFailures:
    """The caches a cycle could not write, in the order it tried; filled as the stages
    write them (one per cycle)."""

    failures: list[CacheFailure] = field(default_factory=list)
    told: int = 0  # how many the stages' log lines already carry

    def write(self, cache: str, path: Path, write: Callable[[], T], otherwise: T) -> T:
        """Run ``write``, which writes the cache named ``cache`` at ``path``, and return
        what it returns; when it raises ``OSError``, log and keep one warning and return
        ``otherwise``. Other errors go on up (a bug is not a cache failure)."""
        try:
            return write()
        except OSError as error:
            failure = CacheFailure(cache, str(path), error.strerror or str(error))
            logger.warning("%s", failure.sentence())
            self.failures.append(failure)
            return otherwise

    def new_sentences(self) -> dict[str, list[str]]:
        """The fields a stage's log line gets for the failures since the last call:
        ``cache_failures`` with their sentences, or nothing."""
        fresh = self.failures[self.told :]
        self.told = len(self.failures)
        return {"cache_failures": [failure.sentence() for failure in fresh]} if fresh else {}

    def sentences(self) -> tuple[str, ...]:
        """Every failure's sentence, in order."""
        return tuple(failure.sentence() for failure in self.failures)


def write_cache(
    failures: CacheFailures | None,
    cache: str,
    path: Path,
    write: Callable[[], T],
    otherwise: T,
) -> T:
    """:meth:`CacheFailures.write` through ``failures``; without one (a caller outside a
    cycle), ``write`` is run as it is.

    Raises:
        OSError: the cache cannot be written and ``failures`` is None.
    """
    if failures is None:
        return write()
    return failures.write(cache, path, write, otherwise)
