"""What a cycle tells whoever watches it: its id, each stage as it starts, counted steps.

``run_cycle`` takes one :class:`CycleListener`; the commands hand it a progress display (a
terminal bar, or JSON lines for the structured log). The core only calls these three
methods and never learns how they are shown.
"""

from __future__ import annotations

from typing import Protocol


class CycleListener(Protocol):
    """Hears one cycle at a time; every method returns quickly and never raises."""

    def on_cycle_start(self, cycle_id: str) -> None:
        """The cycle has an id (the run lock is held; no guard or stage has run yet)."""
        ...

    def on_stage(self, phase: str) -> None:
        """Stage ``phase`` starts."""
        ...

    def on_progress(self, phase: str, done: int, total: int) -> None:
        """Stage ``phase`` finished step ``done`` of ``total`` (only stages that count)."""
        ...


class QuietListener:
    """Hears everything and shows nothing: the listener of a cycle nobody watches."""

    def on_cycle_start(self, cycle_id: str) -> None:
        """Nothing to show."""

    def on_stage(self, phase: str) -> None:
        """Nothing to show."""

    def on_progress(self, phase: str, done: int, total: int) -> None:
        """Nothing to show."""
