"""How a cycle's progress is shown: a rich progress bar with counts when a person watches
a terminal ("Resolving missing models: 12 of 40"), one structured JSON line per step when
none is attached (cron, a service, a pipe). Those lines go to ``log/structured.log``, not
stderr, so that cron does not mail every run; ``--progress`` writes them to stderr too.
The core only calls the two callbacks; rendering lives here."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from watchman.state.structured_log import StructuredLog

if TYPE_CHECKING:
    from rich.console import Console

STEP_LABELS = {"resolve": "Resolving missing models"}


class TerminalProgress:
    """A transient rich progress bar: the stage in hand with its time so far, and its
    counts when it has them ("Resolving missing models: 12 of 40"). Each stage is a task
    of its own, so one stage's total never shows under the next; each change is drawn at
    once (a stage or a step is rare enough), not at the next tick, so a log line printed
    meanwhile never sits under a stale label."""

    def __init__(self, console: Console, stage_label: dict[str, str]) -> None:
        # Imported here: without a person watching, a cycle never loads rich.
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._labels = stage_label
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("Starting the cycle…", total=None)

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def on_cycle_start(self, cycle_id: str) -> None:
        """The bar shows stages, not ids: nothing to do."""

    def on_stage(self, phase: str) -> None:
        self._progress.remove_task(self._task)
        self._task = self._progress.add_task(self._labels.get(phase, phase), total=None)
        self._progress.refresh()

    def on_progress(self, phase: str, done: int, total: int) -> None:
        label = STEP_LABELS.get(phase, self._labels.get(phase, phase))
        self._progress.update(
            self._task, description=f"{label}: {done} of {total}", total=total, completed=done
        )
        self._progress.refresh()


LOG_INTERVAL_SECONDS = 1.0
"""The least time between two counted steps of one stage in the structured log (the
first and the last step are always there): a cycle resolving 2,000 models wrote and
synced 2,000 lines."""


class LineProgress:
    """One JSON object a line per step: ``{"event": "progress", "cycle_id": ..., "phase":
    ..., "done": N, "total": M}`` (``done``/``total`` only for counted steps), appended to
    the structured log (``log``) and written to ``stream`` (stderr with ``--progress``),
    each when given. ``cycle_id`` is the one :meth:`on_cycle_start` last heard (the
    scheduler runs one cycle at a time), so a cycle's lines group with its stage and cycle
    lines.

    The stream gets every step. The log gets every stage, and of a stage's counted steps
    the first, the last and one per :data:`LOG_INTERVAL_SECONDS` of ``monotonic`` (None:
    every one); its progress lines are not fsynced.
    """

    def __init__(
        self,
        stream: TextIO | None,
        log: StructuredLog | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._stream = stream
        self._log = log
        self._cycle_id: str | None = None
        self._monotonic = monotonic
        self._logged_at: dict[str, float] = {}

    def on_cycle_start(self, cycle_id: str) -> None:
        """Take the id of the cycle whose steps the next lines tell."""
        self._cycle_id = cycle_id
        self._logged_at.clear()

    def _write(self, document: dict[str, object], logged: bool = True) -> None:
        if self._cycle_id is not None:
            document = {"cycle_id": self._cycle_id, **document}
        if self._log is not None and logged:
            self._log.write("progress", sync=False, **document)  # never raises
        if self._stream is None:
            return
        document = {"event": "progress", **document}
        try:
            self._stream.write(json.dumps(document) + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr never stops the cycle

    def _worth_logging(self, phase: str, done: int, total: int) -> bool:
        if self._monotonic is None:
            return True
        now = self._monotonic()
        last = self._logged_at.get(phase)
        if last is not None and now - last < LOG_INTERVAL_SECONDS and done < total:
            return False
        self._logged_at[phase] = now
        return True

    def on_stage(self, phase: str) -> None:
        self._write({"phase": phase})

    def on_progress(self, phase: str, done: int, total: int) -> None:
        self._write(
            {"phase": phase, "done": done, "total": total},
            logged=self._worth_logging(phase, done, total),
        )
