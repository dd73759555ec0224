"""How much remote searching one run may do: models asked and time spent.

One workflow from a stranger can name 50,000 distinct missing models, and a first cycle
over a large collection names thousands. Without a bound, one cycle would hold the run
lock for hours and send tens of thousands of requests to Civitai and the other services
(whose rate limits then answer for every later model too). The budget caps both per
run; a model it refuses is ``ERROR deferred``: never cached, asked again next cycle,
which runs in full because of it (the cycle forgets its fingerprint). Answers that need
no request (a known source, a cached answer) never spend it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

DEFERRED = "deferred"
"""The reason of a result the budget held back; never cached."""


class SearchBudget:
    """The remote searches one run may still start; shared by the resolver's threads.

    Args:
        max_models: models that may be asked of the backends; 0: no limit.
        max_seconds: seconds after the budget is made past which no further model is
            asked (a model under way finishes); 0: no limit.
        monotonic: the clock the deadline is read from (``Clock.monotonic``).
    """

    def __init__(self, max_models: int, max_seconds: float, monotonic: Callable[[], float]):
        self._left = max_models if max_models > 0 else None
        self._max_models = max_models
        self._max_seconds = max_seconds
        self._deadline = monotonic() + max_seconds if max_seconds > 0 else None
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.deferred = 0
        """How many models this budget held back."""

    def take(self) -> str | None:
        """Spend one model's search.

        Returns:
            None when the model may be asked; else the sentence saying why it waits.
        """
        with self._lock:
            why = None
            if self._deadline is not None and self._monotonic() >= self._deadline:
                why = (
                    f"This cycle's search time ({_minutes(self._max_seconds)}, "
                    "search.max_minutes_per_cycle) was spent before this model was asked; "
                    "the next cycle asks."
                )
            elif self._left is not None and self._left <= 0:
                why = (
                    f"This cycle's search budget ({_models(self._max_models)}, "
                    "search.max_models_per_cycle) was spent on models more workflows "
                    "need; the next cycle asks."
                )
            if why is None:
                if self._left is not None:
                    self._left -= 1
                return None
            self.deferred += 1
            return why


def _models(count: int) -> str:
    return f"{count} model" + ("" if count == 1 else "s")


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
