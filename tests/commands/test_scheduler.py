"""The scheduler: runs at start, skips with a reason and retries sooner, catches up once
after a suspend, shares the run lock with --run-cycle, and stops cleanly on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from watchman.clocks import SystemClock
from watchman.commands.scheduler import BusyTickFilter, run_scheduler
from watchman.config import Settings
from watchman.errors import LockHeldError
from watchman.home import Home
from watchman.stages.guards import GIB, GpuMemory, NvmlReading
from watchman.state.cycle_state import (
    CycleRecord,
    append_record,
    load_cycle_state,
    update_guard_memory,
)
from watchman.state.jsonl import read_jsonl
from watchman.state.metrics import write_metrics_textfile
from watchman.state.run_lock import RunLock

REPO = Path(__file__).resolve().parents[2]
WAIT_LIMIT = 15.0  # seconds; a bound against hangs, never a speed requirement


class RealTimeClock:
    """The machine's clocks, plus a simulated suspend that moves boottime and wall ahead,
    and awake time the test may hold still and later let pass at once.

    Holding awake time is how a test says "the catch-up cycle's guards look right after the
    resume" without trusting a busy machine to get there within the resume grace.
    """

    def __init__(self) -> None:
        self.suspended = 0.0
        self._lock = threading.Lock()
        self._held_at: float | None = None  # the machine's monotonic time when held
        self._shift = 0.0  # awake time let pass by the test, minus the time held

    def _awake(self) -> float:
        with self._lock:
            base = time.monotonic() if self._held_at is None else self._held_at
            return base + self._shift

    def hold_awake_time(self) -> None:
        with self._lock:
            self._held_at = time.monotonic()

    def let_awake_time_pass(self, seconds: float) -> None:
        """End a hold with ``seconds`` of awake time gone by at once."""
        with self._lock:
            assert self._held_at is not None
            self._shift += self._held_at + seconds - time.monotonic()
            self._held_at = None

    def monotonic(self) -> float:
        return self._awake()

    def boottime(self) -> float:
        return self._awake() + 100_000 + self.suspended

    def wall(self) -> float:
        # Moves with awake time (held and let pass alike) so the boot never seems to move.
        return time.time() + (self._awake() - time.monotonic()) + self.suspended


def grace_passes_after_a_skip(cycle: Any, clock: RealTimeClock, grace_minutes: float) -> Any:
    """Wrap a cycle: once a cycle is skipped, the held awake time passes the resume grace."""

    def run(settings: Settings, home: Home, **kwargs: Any) -> Any:
        result = cycle(settings, home, **kwargs)
        if result.record.outcome == "skipped":
            clock.let_awake_time_pass(grace_minutes * 60 + 1)
        return result

    return run


class NoGpu:
    def read(self) -> NvmlReading:
        return NvmlReading(problem="no driver in tests")


class BusyThenFreeGpu:
    """The first reading shows a render holding the GPU; later ones show it free."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> NvmlReading:
        self.reads += 1
        free = 1 if self.reads == 1 else 20
        return NvmlReading(gpus=(GpuMemory(0, "Fake GPU", free * GIB, 24 * GIB),))


class FakeCycle:
    """Behaves like run_cycle at its edges: takes the run lock, asks the guards it is
    given, records the cycle, and ends at a 'stage boundary' when stopped."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.hold = hold  # while set... cleared: the cycle waits inside the lock
        self.started = threading.Event()
        self.calls: list[dict[str, Any]] = []

    def __call__(self, settings: Settings, home: Home, **kwargs: Any) -> Any:
        from watchman.cycle_record import CycleResult

        self.calls.append(kwargs)
        with RunLock(home.lock_file):
            self.started.set()
            stop_event = kwargs["stop_event"]
            state = load_cycle_state(home.cycle_state)
            verdict = kwargs["guard_evaluator"](settings.schedule, state.guard_memory)
            update_guard_memory(home.cycle_state, dict(verdict.memory))
            outcome, reason = ("ran", None) if verdict.allowed else ("skipped", verdict.reason)
            while self.hold is not None and not self.hold.is_set():
                if stop_event.wait(0.01):
                    outcome, reason = "skipped", "interrupted: stop requested"
                    break
            record = CycleRecord(
                cycle_id=f"fake-{len(self.calls)}",
                started_at=datetime.now().astimezone().isoformat(),
                duration_seconds=0.01,
                outcome=outcome,  # type: ignore[arg-type]
                reason=reason,
                trigger=kwargs["trigger"],
            )
            state = append_record(home.cycle_state, record)
            if settings.metrics.textfile is not None:  # as run_cycle does, at its very end
                write_metrics_textfile(settings.metrics.textfile, state)
            return CycleResult(record=record)


def settings_for(**schedule: Any) -> Settings:
    values: dict[str, Any] = {
        "interval_minutes": 10,
        "boot_grace_minutes": 0,
        "resume_grace_minutes": 0,
        "retry_after_skip_minutes": 0.005,  # 0.3 s
    }
    values.update(schedule)
    return make_settings(schedule=values, comfyui={"use_server": False})


def make_settings(**sections: Any) -> Settings:
    # model_validate reads neither the environment nor a config file: tests stay isolated.
    return Settings.model_validate(sections)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        assert time.monotonic() < deadline, "the scheduler did not get there in time"
        time.sleep(0.02)


def records(home: Home) -> tuple[CycleRecord, ...]:
    return load_cycle_state(home.cycle_state).records


class Running:
    def __init__(self, thread: threading.Thread, stop: threading.Event) -> None:
        self.thread = thread
        self.stop = stop
        self.exit_status: list[int] = []


@pytest.fixture
def start_scheduler(tmp_path: Path) -> Iterator[Callable[..., tuple[Home, Running]]]:
    started: list[Running] = []

    def start(settings: Settings, cycle: Any, **options: Any) -> tuple[Home, Running]:
        home = Home(tmp_path / "home")
        stop = threading.Event()
        running = Running(threading.Thread(target=lambda: None), stop)

        def target() -> None:
            running.exit_status.append(
                run_scheduler(
                    settings,
                    home,
                    clock=options.pop("clock", SystemClock()),
                    cycle=cycle,
                    stop_event=stop,
                    install_signal_handlers=False,
                    heartbeat_seconds=0.05,
                    **options,
                )
            )

        running.thread = threading.Thread(target=target, name="scheduler-under-test")
        running.thread.start()
        started.append(running)
        return home, running

    yield start
    for running in started:  # never leave a scheduler thread behind, even on failure
        running.stop.set()
        running.thread.join(WAIT_LIMIT)
        assert not running.thread.is_alive()


def stop(running: Running) -> int:
    running.stop.set()
    running.thread.join(WAIT_LIMIT)
    assert not running.thread.is_alive()
    return running.exit_status[0]


def test_the_first_cycle_runs_at_start_and_the_next_one_an_interval_later(
    start_scheduler: Any,
) -> None:
    cycle = FakeCycle()
    home, running = start_scheduler(settings_for(interval_minutes=0.005), cycle, nvml=NoGpu())
    wait_until(lambda: len(records(home)) >= 2)
    assert stop(running) == 0
    assert all(r.outcome == "ran" and r.trigger == "scheduler" for r in records(home))
    assert load_cycle_state(home.cycle_state).next_run is None  # stopped: nothing scheduled


def test_the_next_run_is_persisted_an_interval_after_a_cycle_that_ran(
    start_scheduler: Any,
) -> None:
    home, running = start_scheduler(settings_for(interval_minutes=30), FakeCycle(), nvml=NoGpu())
    wait_until(lambda: load_cycle_state(home.cycle_state).next_run is not None)
    state = load_cycle_state(home.cycle_state)
    assert state.next_run is not None
    started = datetime.fromisoformat(state.records[-1].started_at)
    next_run = datetime.fromisoformat(state.next_run)
    assert 29 * 60 < (next_run - started).total_seconds() <= 30 * 60 + 5
    assert stop(running) == 0


def next_run_in_textfile(textfile: Path) -> float | None:
    for line in textfile.read_text().splitlines():
        if line.startswith("comfywatchman_next_run_timestamp_seconds "):
            return float(line.split()[1])
    return None


def test_the_metrics_textfile_shows_the_persisted_next_run_and_none_once_stopped(
    start_scheduler: Any, tmp_path: Path
) -> None:
    textfile = tmp_path / "textfile" / "comfywatchman.prom"
    settings = make_settings(
        schedule={"interval_minutes": 30, "boot_grace_minutes": 0, "resume_grace_minutes": 0},
        comfyui={"use_server": False},
        metrics={"textfile": textfile},
    )
    home, running = start_scheduler(settings, FakeCycle(), nvml=NoGpu())

    def textfile_shows_the_persisted_next_run() -> bool:
        next_run = load_cycle_state(home.cycle_state).next_run
        return (
            next_run is not None
            and textfile.is_file()
            and next_run_in_textfile(textfile) == datetime.fromisoformat(next_run).timestamp()
        )

    # The cycle wrote the file before the scheduler knew its next run; it is rewritten
    # once the next run is persisted (wait for that: the two writes are not one step).
    wait_until(textfile_shows_the_persisted_next_run)
    assert stop(running) == 0
    assert textfile.is_file() and next_run_in_textfile(textfile) is None
    assert "comfywatchman_last_cycle_outcome" in textfile.read_text()


def test_a_guard_skip_is_recorded_with_its_reason_and_retried_soon(start_scheduler: Any) -> None:
    home, running = start_scheduler(settings_for(), FakeCycle(), nvml=BusyThenFreeGpu())
    wait_until(lambda: len(records(home)) >= 2)
    assert stop(running) == 0
    skipped, ran = records(home)[:2]
    assert skipped.outcome == "skipped"
    assert skipped.reason is not None and skipped.reason.startswith("vram: no GPU has 4 GiB free")
    assert ran.outcome == "ran"  # a 10-minute interval, yet retried within the test


def test_a_cycle_missed_while_suspended_runs_once_after_the_resume_grace(
    start_scheduler: Any,
) -> None:
    clock = RealTimeClock()
    settings = settings_for(interval_minutes=1, resume_grace_minutes=0.004)
    cycle = grace_passes_after_a_skip(FakeCycle(), clock, grace_minutes=0.004)
    home, running = start_scheduler(settings, cycle, clock=clock, nvml=NoGpu())
    wait_until(lambda: len(records(home)) == 1)
    clock.hold_awake_time()  # the catch-up's guards look right after the resume...
    clock.suspended += 3.5 * 60  # ...from a sleep through three scheduled runs
    wait_until(
        lambda: [r.outcome for r in records(home)][-1:] == ["ran"] and len(records(home)) > 2
    )
    time.sleep(0.5)  # room for any wrong extra catch-up run to show itself
    assert stop(running) == 0
    outcomes = [(r.outcome, (r.reason or "").split(" from ")[0]) for r in records(home)]
    assert outcomes == [("ran", ""), ("skipped", "awake: resumed"), ("ran", "")]


def test_a_suspend_at_the_very_end_of_a_cycle_still_gets_its_one_catch_up(
    start_scheduler: Any,
) -> None:
    clock = RealTimeClock()
    inner = FakeCycle()

    def cycle_then_sleep(settings: Settings, home: Home, **kwargs: Any) -> Any:
        result = inner(settings, home, **kwargs)
        if len(inner.calls) == 1:
            clock.hold_awake_time()  # the catch-up's guards look right after the resume
            clock.suspended += 3.5 * 60  # asleep before the scheduler plans the next run
        return result

    settings = settings_for(interval_minutes=1, resume_grace_minutes=0.004)
    cycle = grace_passes_after_a_skip(cycle_then_sleep, clock, grace_minutes=0.004)
    home, running = start_scheduler(settings, cycle, clock=clock, nvml=NoGpu())
    wait_until(lambda: len(records(home)) >= 3)
    time.sleep(0.5)  # room for any wrong extra run to show itself
    assert stop(running) == 0
    outcomes = [(r.outcome, (r.reason or "").split(" from ")[0]) for r in records(home)]
    assert outcomes == [("ran", ""), ("skipped", "awake: resumed"), ("ran", "")]


def test_interval_ticks_during_a_long_cycle_log_no_warning(
    start_scheduler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hold = threading.Event()
    cycle = FakeCycle(hold=hold)
    home, running = start_scheduler(settings_for(interval_minutes=0.002), cycle, nvml=NoGpu())
    assert cycle.started.wait(WAIT_LIMIT)

    def a_tick_came_during_the_cycle() -> bool:
        return any(
            "maximum number of running instances" in r.getMessage()
            or "tick came while a cycle was running" in r.getMessage()
            for r in caplog.records
        )

    try:
        wait_until(a_tick_came_during_the_cycle)
    finally:
        hold.set()
    wait_until(lambda: len(records(home)) >= 1)
    assert stop(running) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    assert records(home)[0].outcome == "ran"


def test_the_tick_filter_lets_other_apscheduler_messages_through() -> None:
    other = logging.LogRecord(
        "apscheduler.scheduler",
        logging.WARNING,
        "",
        0,
        "Run time of job %s was missed",
        ("x",),
        None,
    )
    busy = logging.LogRecord(
        "apscheduler.scheduler",
        logging.WARNING,
        "",
        0,
        'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
        ("x", 1),
        None,
    )
    assert BusyTickFilter().filter(other)
    assert not BusyTickFilter().filter(busy)


def test_a_short_suspend_before_the_next_run_adds_no_cycle(start_scheduler: Any) -> None:
    clock = RealTimeClock()
    home, running = start_scheduler(settings_for(interval_minutes=1), FakeCycle(), clock=clock)
    wait_until(lambda: len(records(home)) == 1)
    clock.suspended += 20
    wait_until(lambda: load_cycle_state(home.cycle_state).guard_memory != {})
    time.sleep(0.3)  # several heartbeats see the resume
    assert stop(running) == 0
    assert len(records(home)) == 1


def test_a_run_lock_held_by_a_cron_cycle_is_a_skip_retried_soon(
    start_scheduler: Any, tmp_path: Path
) -> None:
    cron_lock = RunLock(Home(tmp_path / "home").lock_file)
    cron_lock.__enter__()
    try:
        home, running = start_scheduler(settings_for(), FakeCycle(), nvml=NoGpu())
        wait_until(lambda: len(records(home)) >= 1)
    finally:
        cron_lock.__exit__(None, None, None)
    wait_until(lambda: len(records(home)) >= 2)
    assert stop(running) == 0
    first, second = records(home)[:2]
    assert first.outcome == "skipped" and first.reason is not None
    assert first.reason.startswith("lock: Another comfywatchman cycle is running")
    assert second.outcome == "ran"
    logged = [line for line in read_jsonl(home.structured_log) if line.get("event") == "cycle"]
    assert logged[0]["outcome"] == "skipped" and logged[0]["reason"] == first.reason


def test_a_run_cycle_while_the_scheduler_runs_a_cycle_gets_the_lock_error(
    start_scheduler: Any,
) -> None:
    hold = threading.Event()
    cycle = FakeCycle(hold=hold)
    home, running = start_scheduler(settings_for(), cycle, nvml=NoGpu())
    assert cycle.started.wait(WAIT_LIMIT)
    from watchman.cycle import run_cycle

    with pytest.raises(LockHeldError):
        run_cycle(settings_for(), home)
    hold.set()
    wait_until(lambda: len(records(home)) == 1)
    assert stop(running) == 0


def test_a_cron_run_cycle_process_exits_3_while_the_scheduler_holds_the_lock(
    start_scheduler: Any, tmp_path: Path
) -> None:
    hold = threading.Event()
    cycle = FakeCycle(hold=hold)
    home, running = start_scheduler(settings_for(), cycle, nvml=NoGpu())
    assert cycle.started.wait(WAIT_LIMIT)
    environment = {**os.environ, "COMFYWATCHMAN_HOME": str(home.root)}
    # The package may not be installed; the child process imports it from this checkout.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    environment["COMFYWATCHMAN_CONFIG"] = str(_empty_config(tmp_path))
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "watchman", "--run-cycle", "--offline"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    finally:
        hold.set()
    assert finished.returncode == 3, finished.stderr
    assert stop(running) == 0


def _empty_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text("")
    return path


def test_sigterm_stops_the_scheduler_and_the_cycle_in_hand_cleanly(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    cycle = FakeCycle(hold=threading.Event())  # never released: only the stop ends it

    def send_sigterm() -> None:
        if cycle.started.wait(WAIT_LIMIT):
            os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=send_sigterm)
    sender.start()
    previous = signal.getsignal(signal.SIGTERM)
    status = run_scheduler(
        settings_for(),
        home,
        clock=SystemClock(),
        cycle=cycle,
        nvml=NoGpu(),
        heartbeat_seconds=0.05,
    )
    sender.join(WAIT_LIMIT)
    assert status == 0
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    (record,) = records(home)
    assert record.outcome == "skipped" and record.reason == "interrupted: stop requested"
    assert not [path.name for path in home.state_dir.iterdir() if path.name.startswith(".")]


def test_the_real_cycle_runs_under_the_scheduler(start_scheduler: Any, tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    settings = make_settings(
        schedule={"boot_grace_minutes": 0, "resume_grace_minutes": 0},
        comfyui={"root": root, "use_server": False},
        search={"offline": True},
    )
    home, running = start_scheduler(settings, None, nvml=NoGpu())
    wait_until(lambda: len(records(home)) >= 1)
    assert stop(running) == 0
    (record,) = records(home)
    assert (record.outcome, record.trigger) == ("ran", "scheduler"), record.reason
    assert home.report_json.is_file()


def test_a_cycle_that_cannot_start_is_recorded_as_failed_and_the_daemon_goes_on(
    start_scheduler: Any, tmp_path: Path
) -> None:
    settings = make_settings(
        schedule={"interval_minutes": 0.005},
        comfyui={"root": tmp_path / "no-such-comfyui", "use_server": False},
        search={"offline": True},
    )
    home, running = start_scheduler(settings, None, nvml=NoGpu())
    wait_until(lambda: len(records(home)) >= 2)
    assert stop(running) == 0
    assert {r.outcome for r in records(home)} == {"failed"}
    assert "does not exist" in (records(home)[0].reason or "")


def test_a_corrupt_state_file_is_set_aside_and_the_scheduler_runs_on(
    start_scheduler: Any, tmp_path: Path
) -> None:
    state_file = Home(tmp_path / "home").cycle_state
    state_file.parent.mkdir(parents=True)
    state_file.write_text("{ not json")
    home, running = start_scheduler(settings_for(), FakeCycle(), nvml=NoGpu())
    wait_until(lambda: len(records(home)) >= 1)
    assert stop(running) == 0
    assert [r.outcome for r in records(home)] == ["ran"]
    assert any(p.name.startswith("cycle_state.json.corrupt-") for p in home.state_dir.iterdir())


def test_comfywatchman_scheduler_exits_0_on_sigterm_after_a_real_cycle(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    home = Home(tmp_path / "home")
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "COMFYWATCHMAN_HOME": str(home.root),
        "COMFYWATCHMAN_CONFIG": str(_empty_config(tmp_path)),
        "COMFYWATCHMAN_SCHEDULE__BOOT_GRACE_MINUTES": "0",
        "COMFYWATCHMAN_SCHEDULE__RESUME_GRACE_MINUTES": "0",
        "COMFYWATCHMAN_SCHEDULE__REQUIRE_GPU": "false",
        "COMFYWATCHMAN_SCHEDULE__MIN_VRAM_GB": "0",
        "COMFYWATCHMAN_COMFYUI__USE_SERVER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "watchman", "--scheduler", "--offline", "--comfyui-root", str(root)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: process.poll() is not None or len(records(home)) >= 1)
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=WAIT_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert [r.outcome for r in records(home)] == ["ran"], errors
    assert load_cycle_state(home.cycle_state).next_run is None
    # No terminal under a service: the cycle's progress lines are in the structured log.
    logged = [line for line in read_jsonl(home.structured_log) if line["event"] == "progress"]
    assert [line["phase"] for line in logged][:2] == ["inventory", "caches"], errors
    # Each carries the id of the cycle it tells, as the cycle's own lines do.
    assert {line["cycle_id"] for line in logged} == {records(home)[0].cycle_id}


def test_a_cycle_that_raises_a_bug_is_logged_and_the_daemon_runs_the_next_one(
    start_scheduler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def buggy_cycle(settings: Settings, home: Home, **kwargs: Any) -> Any:
        calls.append(1)
        raise KeyError("a bug, not an input")

    with caplog.at_level(logging.ERROR, logger="watchman.commands.scheduler"):
        _, running = start_scheduler(
            settings_for(interval_minutes=0.005), buggy_cycle, nvml=NoGpu()
        )
        wait_until(lambda: len(calls) >= 2)
        assert stop(running) == 0
    assert "Cycle failed unexpectedly" in caplog.text and "KeyError" in caplog.text
