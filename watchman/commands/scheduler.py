"""``comfywatchman --scheduler``: run the cycle every ``schedule.interval_minutes``, for weeks.

When to run is decided by ``watchman.commands.timetable``, pure functions of the clock and
the timetable (the first cycle at start, then a grid of intervals, a skip retried after
``schedule.retry_after_skip_minutes``, one catch-up after a resume, jitter). This module
only runs those decisions: APScheduler 3 (a ``BackgroundScheduler`` with one job) starts
the cycle at the time the timetable names, one at a time (``max_instances=1``, a single
worker thread), and after each cycle the job is moved to the next planned time.

The suspend trap: APScheduler waits with ``threading.Event.wait``, which since Python 3.11
counts CLOCK_MONOTONIC; that clock stops during suspend, so after a resume the scheduler
would sleep on for the remaining awake time. The main thread therefore runs a heartbeat
every few seconds that (1) watches ``boottime - monotonic`` for a resume; when a run fell
due while the machine slept, it makes the job due now, so it runs once (not once per missed
slot, and never zero times) and its awake guard waits out the resume grace by skipping and
retrying; and (2) wakes the scheduler whenever the wall clock has passed the next run. The
daemon never wakes the machine: it holds no wake lock and sets no RTC alarm.

SIGTERM and SIGINT set the stop event: no new cycle starts, the cycle in hand ends at its
next stage boundary (its files are written atomically, so nothing is left half-written),
and ``run_scheduler`` returns 0.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watchman.clocks import Clock
from watchman.commands.stopping import stop_on_signals
from watchman.commands.timetable import (
    CycleOutcome,
    Rules,
    Tick,
    Timetable,
    after_cycle,
    at_start,
    on_tick,
)
from watchman.config import ScheduleSettings, Settings
from watchman.cycle_record import CycleResult, record_cycle
from watchman.errors import LockHeldError, WatchmanError
from watchman.exit_status import ExitStatus
from watchman.home import Home
from watchman.stages.guards import GuardVerdict, NvmlReader, evaluate_guards, observe_suspend
from watchman.state.cycle_state import (
    CycleRecord,
    CycleState,
    load_cycle_state,
    update_next_run,
)
from watchman.state.metrics import write_metrics_textfile

logger = logging.getLogger(__name__)

JOB_ID = "comfywatchman-cycle"
HEARTBEAT_SECONDS = 15.0

CycleFunction = Callable[..., CycleResult]


def run_scheduler(
    settings: Settings,
    home: Home,
    *,
    cycle: CycleFunction | None = None,
    cycle_kwargs: Mapping[str, Any] | None = None,
    clock: Clock,
    stop_event: threading.Event | None = None,
    install_signal_handlers: bool = True,
    nvml: NvmlReader | None = None,
    heartbeat_seconds: float | None = None,
) -> int:
    """Run cycles at the configured interval until stopped.

    Args:
        settings: the loaded settings (``schedule`` and ``metrics`` are read here).
        home: the tool's home.
        cycle: the cycle function (default ``watchman.cycle.run_cycle``), called as
            ``cycle(settings, home, trigger="scheduler", stop_event=..., guard_evaluator=...,
            **cycle_kwargs)``.
        cycle_kwargs: more keyword arguments for each cycle (offline, backends, ...).
        stop_event: set it to stop (it is set when the scheduler returns); created when not given.
        clock: the clocks for the guards and the resume check (the process's, from
            ``main()``; a test's fake).
        install_signal_handlers: make SIGTERM and SIGINT set the stop event (main thread only).
        nvml: the GPU reader for the VRAM guard (default: NVML).
        heartbeat_seconds: how often the resume check runs (default 15 s, or less for
            short intervals).

    Returns:
        0 once stopped cleanly.
    """
    if cycle is None:
        from watchman.cycle import run_cycle  # imported late: the cycle pulls in every stage

        cycle = run_cycle
    stop_event = stop_event or threading.Event()
    loop = SchedulerLoop(
        settings,
        home,
        cycle=cycle,
        cycle_kwargs=dict(cycle_kwargs or {}),
        stop_event=stop_event,
        clock=clock,
        nvml=nvml,
        heartbeat_seconds=heartbeat_seconds,
    )
    with stop_on_signals(stop_event) if install_signal_handlers else nullcontext():
        loop.run()
    return int(ExitStatus.SUCCESS)


class SchedulerLoop:
    """The APScheduler job, the heartbeat and the bookkeeping around one cycle function."""

    def __init__(
        self,
        settings: Settings,
        home: Home,
        *,
        cycle: CycleFunction,
        cycle_kwargs: dict[str, Any],
        stop_event: threading.Event,
        clock: Clock,
        nvml: NvmlReader | None = None,
        heartbeat_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.home = home
        self.cycle = cycle
        self.cycle_kwargs = cycle_kwargs
        self.stop_event = stop_event
        self.clock = clock
        self.nvml = nvml
        interval_seconds = settings.schedule.interval_minutes * 60
        # Short intervals (tests, impatient users) need a heartbeat finer than the interval.
        self.heartbeat_seconds = heartbeat_seconds or min(HEARTBEAT_SECONDS, interval_seconds / 4)
        # Guards the guard memory, the running flag, and this process's cycle_state writes.
        self._lock = threading.Lock()
        self._running = False
        self._idle = threading.Event()  # set while no cycle is in hand
        self._idle.set()
        self._memory: dict[str, Any] = {}
        self._rules = Rules(
            interval=interval_seconds,
            retry_after_skip=settings.schedule.retry_after_skip_minutes * 60,
        )
        self._timetable: Timetable | None = None
        self._scheduler = BackgroundScheduler(
            logger=_apscheduler_logger(),
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def run(self) -> None:
        """Start the scheduler, run the heartbeat until the stop event is set, then stop."""
        schedule = self.settings.schedule
        self.home.ensure()
        self._memory = observe_suspend(
            load_cycle_state(self.home.cycle_state).guard_memory, self.clock
        )
        self._timetable = at_start(self.clock.wall())
        # The trigger only keeps the job alive; its times are always replaced by the
        # timetable's (``_plan_next``).
        self._scheduler.add_job(
            self._run_job,
            IntervalTrigger(seconds=schedule.interval_minutes * 60, timezone=timezone.utc),
            id=JOB_ID,
            name="comfywatchman cycle",
            next_run_time=_scheduler_time(0.0),
        )
        logger.info(
            "Scheduler started: a cycle every %g min, the first now; home %s.",
            schedule.interval_minutes,
            self.home.root,
        )
        self._scheduler.start()
        try:
            while not self.stop_event.wait(self.heartbeat_seconds):
                self.heartbeat()
        finally:
            logger.info("Stopping the scheduler; the cycle in hand ends at its next stage.")
            self.stop_event.set()  # also when the heartbeat failed: no new cycle may start
            with self._lock:
                pass  # from here on a job either is marked running or sees the stop event
            # Wait for the cycle in hand before shutdown(): APScheduler's shutdown holds the
            # job store lock while it waits, and the job needs that lock to reschedule.
            self._idle.wait()
            self._scheduler.shutdown(wait=True)
            with self._lock:
                self._timetable = None
                self._persist_next_run()
            logger.info("Scheduler stopped.")

    def heartbeat(self) -> None:
        """Look for a resume from suspend and start the run the timetable says is due."""
        with self._lock:
            previous_resume = self._memory.get("last_resume_monotonic")
            self._memory = observe_suspend(self._memory, self.clock)
            resume = self._memory.get("last_resume_monotonic")
            resumed = resume is not None and resume != previous_resume
            if self._running or self._timetable is None:
                return  # the job thread plans the next run when the cycle ends
            tick = on_tick(self._timetable, now=self.clock.wall(), resumed=resumed)
            slept = self._memory.get("last_suspend_seconds") or 0.0
            if tick is Tick.RUN_NOW:
                if resumed:
                    logger.info("Resumed after %.0f s asleep; running the missed cycle.", slept)
                job = self._scheduler.get_job(JOB_ID)
                now = _scheduler_time(0.0)
                if job is not None and job.next_run_time is not None and job.next_run_time > now:
                    # APScheduler's own wait counts monotonic time (stopped while asleep)
                    # and may oversleep: the timetable's word is final.
                    self._scheduler.modify_job(JOB_ID, next_run_time=now)
                self._scheduler.wakeup()
            elif tick is Tick.RECHECK:
                logger.info(
                    "Resumed after %.0f s asleep; next cycle at %s.",
                    slept,
                    _iso(self._timetable.next_run),
                )
                self._scheduler.wakeup()

    def evaluate_guards(
        self, schedule: ScheduleSettings, memory: Mapping[str, Any]
    ) -> GuardVerdict:
        """The guards as the scheduler sees them: with its clock and its fresher memory.

        The heartbeat has observed the suspend clocks every few seconds, so its memory
        dates a resume more closely than the memory persisted by the previous cycle.
        """
        with self._lock:
            current = self._memory or dict(memory)
        verdict = evaluate_guards(schedule, current, clock=self.clock, nvml=self.nvml)
        with self._lock:
            self._memory = dict(verdict.memory)
        return verdict

    def _run_job(self) -> None:
        with self._lock:
            if self.stop_event.is_set():
                return
            self._running = True
            self._idle.clear()
        outcome: CycleOutcome = "failed"
        # The cycle's end is dated as its start plus the awake time it took: a suspend
        # right at its end (before the plan below) must leave the slots it sleeps through
        # missed, so the heartbeat catches them up, not quietly planned past.
        started_wall, started_awake = self.clock.wall(), self.clock.monotonic()
        try:
            outcome = self._run_cycle()
        finally:
            ended = started_wall + max(0.0, self.clock.monotonic() - started_awake)
            with self._lock:
                self._running = False
                if not self.stop_event.is_set():
                    self._plan_next(outcome, ended)
                self._persist_next_run()
                self._idle.set()

    def _run_cycle(self) -> CycleOutcome:
        """Run one cycle; return its outcome (a lock held elsewhere counts as skipped)."""
        try:
            result = self.cycle(
                self.settings,
                self.home,
                trigger="scheduler",
                stop_event=self.stop_event,
                guard_evaluator=self.evaluate_guards,
                **self.cycle_kwargs,
            )
        except LockHeldError as error:
            logger.info("Cycle skipped: %s", error)
            self._record("skipped", f"lock: {error}")
            return "skipped"
        except (WatchmanError, OSError) as error:
            # ComfyUI not found (a drive not mounted yet) or bad state: record it and carry
            # on at the normal interval; the next cycle may find things mended.
            logger.error("Cycle failed before it started: %s", error)
            self._record("failed", str(error))
            return "failed"
        except Exception:
            # Last resort: a bug in one cycle must not end the daemon. The cycle recorded
            # itself if it got that far; the traceback goes to the log for a report.
            logger.exception("Cycle failed unexpectedly; the scheduler goes on.")
            return "failed"
        logger.info(
            "Cycle %s %s%s.",
            result.record.cycle_id,
            result.record.outcome,
            f" ({result.record.reason})" if result.record.reason else "",
        )
        outcome = result.record.outcome
        # An interrupted cycle is planned like a skipped one (only ever after a stop).
        return "skipped" if outcome == "interrupted" else outcome

    def _plan_next(self, outcome: CycleOutcome, ended: float) -> None:
        """Ask the timetable for the next run after a cycle that ended at ``ended`` (wall
        seconds) and move the job there (lock held)."""
        if self._timetable is None:
            return
        jitter_seconds = self.settings.schedule.jitter_seconds
        now = self.clock.wall()
        self._timetable = after_cycle(
            self._timetable,
            self._rules,
            now=ended,
            outcome=outcome,
            jitter=random.uniform(0.0, jitter_seconds) if jitter_seconds else 0.0,
        )
        self._scheduler.modify_job(
            JOB_ID, next_run_time=_scheduler_time(self._timetable.next_run - now)
        )
        if outcome == "skipped":
            logger.info("Retrying the skipped cycle at %s.", _iso(self._timetable.next_run))

    def _record(self, outcome: str, reason: str) -> None:
        now = datetime.fromtimestamp(self.clock.wall(), timezone.utc)
        record = CycleRecord(
            cycle_id=f"{now.strftime('%Y%m%dT%H%M%S')}-scheduler",
            started_at=now.isoformat(),
            duration_seconds=0.0,
            outcome=outcome,  # type: ignore[arg-type]
            reason=reason,
            trigger="scheduler",
        )
        # Recorded by the cycle's own function: state, log line, metrics alike.
        try:
            record_cycle(self.home, self.settings.metrics.textfile, record, self.clock.wall)
        except OSError as error:
            logger.warning("Cannot record the cycle in %s: %s", self.home.cycle_state, error)

    def _write_metrics(self, state: CycleState) -> None:
        textfile = self.settings.metrics.textfile
        if textfile is None:
            return
        try:
            write_metrics_textfile(textfile, state)
        except OSError as error:
            logger.warning("Cannot write metrics to %s: %s", textfile, error)

    def _persist_next_run(self) -> None:
        """Record the timetable's next run (none once stopped) in the cycle state."""
        text = _iso(self._timetable.next_run) if self._timetable is not None else None
        try:
            update_next_run(self.home.cycle_state, text)
        except OSError as error:
            logger.warning("Cannot record the next run in %s: %s", self.home.cycle_state, error)
            return
        # The cycle wrote the textfile before its next run was known (and a stopped
        # scheduler has none): rewrite it so next_run_timestamp_seconds is never stale.
        if self.settings.metrics.textfile is not None:
            self._write_metrics(load_cycle_state(self.home.cycle_state))


class BusyTickFilter(logging.Filter):
    """Drop APScheduler's warning for an interval tick that falls while a cycle still runs.

    With ``max_instances=1`` that is the design working (the tick is coalesced into the run
    scheduled after the cycle), not a problem; a long cycle would otherwise log a WARNING
    at every tick. Every other APScheduler message passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for the "maximum number of running instances reached" warning."""
        if "maximum number of running instances reached" in str(record.msg):
            logger.debug("An interval tick came while a cycle was running; it is dropped.")
            return False
        return True


def _apscheduler_logger() -> logging.Logger:
    # A child of APScheduler's own logger, so that its configuration still applies, with the
    # filter on it alone: other APScheduler users in the process keep every message.
    scheduler_logger = logging.getLogger("apscheduler.scheduler.comfywatchman")
    if not any(isinstance(item, BusyTickFilter) for item in scheduler_logger.filters):
        scheduler_logger.addFilter(BusyTickFilter())
    return scheduler_logger


def _scheduler_time(delay_seconds: float) -> datetime:
    """APScheduler's time ``delay_seconds`` from now. APScheduler compares run times with
    its own reading of the wall clock, so a delay the timetable planned is laid on that
    reading (the one wall-clock read here)."""
    return datetime.now(timezone.utc) + timedelta(seconds=max(0.0, delay_seconds))


def _iso(wall_seconds: float) -> str:
    return datetime.fromtimestamp(wall_seconds, timezone.utc).isoformat(timespec="seconds")
