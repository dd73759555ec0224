"""The awake and VRAM guards, with injected clocks and a fake NVML."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest

from watchman.clocks import SystemClock
from watchman.config import ScheduleSettings
from watchman.stages.guards import (
    GIB,
    GpuMemory,
    NvmlReading,
    SystemNvmlReader,
    evaluate_guards,
    observe_suspend,
)


@dataclass
class FakeClock:
    """A machine that booted at wall time ``boot_wall``; ``suspend`` moves boottime and wall."""

    awake_seconds: float = 3600.0  # monotonic: time spent awake since boot
    suspended_seconds: float = 0.0
    boot_wall: float = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.awake_seconds

    def boottime(self) -> float:
        return self.awake_seconds + self.suspended_seconds

    def wall(self) -> float:
        return self.boot_wall + self.boottime()

    def run(self, seconds: float) -> None:
        self.awake_seconds += seconds

    def suspend(self, seconds: float) -> None:
        self.suspended_seconds += seconds


@dataclass
class FakeNvml:
    reading: NvmlReading

    def read(self) -> NvmlReading:
        return self.reading


NO_GPU = FakeNvml(NvmlReading(problem="the NVIDIA driver is not loaded"))


def gpu(index: int, free_gib: float) -> GpuMemory:
    return GpuMemory(index, f"RTX {index}", int(free_gib * GIB), 24 * GIB)


def schedule(**values: Any) -> ScheduleSettings:
    base: dict[str, Any] = {"boot_grace_minutes": 10, "resume_grace_minutes": 5}
    base.update(values)
    return ScheduleSettings(**base)


def test_a_settled_machine_without_a_gpu_may_run_and_says_no_gpu() -> None:
    verdict = evaluate_guards(schedule(), {}, clock=FakeClock(), nvml=NO_GPU)
    assert verdict.allowed and verdict.reason is None
    assert [check.name for check in verdict.checks] == ["awake", "vram"]
    assert verdict.checks[1].detail.startswith("no GPU")


def test_no_gpu_fails_when_a_gpu_is_required() -> None:
    verdict = evaluate_guards(schedule(require_gpu=True), {}, clock=FakeClock(), nvml=NO_GPU)
    assert not verdict.allowed
    assert verdict.reason is not None and verdict.reason.startswith("vram: no GPU")


def test_within_the_boot_grace_the_cycle_is_skipped_and_after_it_runs() -> None:
    clock = FakeClock(awake_seconds=9 * 60)
    verdict = evaluate_guards(schedule(), {}, clock=clock, nvml=NO_GPU)
    assert not verdict.allowed
    assert verdict.reason is not None and verdict.reason.startswith("awake: booted 9.0 min ago")
    clock.run(61)
    assert evaluate_guards(schedule(), verdict.memory, clock=clock, nvml=NO_GPU).allowed


def test_a_suspend_seen_between_evaluations_starts_the_resume_grace() -> None:
    clock = FakeClock()
    first = evaluate_guards(schedule(), {}, clock=clock, nvml=NO_GPU)
    clock.run(60)
    clock.suspend(8 * 3600)
    clock.run(30)
    after_resume = evaluate_guards(schedule(), first.memory, clock=clock, nvml=NO_GPU)
    assert not after_resume.allowed
    assert after_resume.reason is not None and "resumed from suspend" in after_resume.reason
    assert after_resume.memory["last_suspend_seconds"] == pytest.approx(8 * 3600)
    clock.run(4 * 60)
    still = evaluate_guards(schedule(), after_resume.memory, clock=clock, nvml=NO_GPU)
    assert not still.allowed
    clock.run(61)
    settled = evaluate_guards(schedule(), still.memory, clock=clock, nvml=NO_GPU)
    assert settled.allowed
    assert "since resume" in settled.checks[0].detail


def test_time_asleep_does_not_count_toward_the_resume_grace() -> None:
    clock = FakeClock()
    memory = evaluate_guards(schedule(), {}, clock=clock, nvml=NO_GPU).memory
    clock.suspend(600)
    memory = evaluate_guards(schedule(), memory, clock=clock, nvml=NO_GPU).memory
    clock.suspend(3600)  # a second sleep right after: the grace starts again
    verdict = evaluate_guards(schedule(), memory, clock=clock, nvml=NO_GPU)
    assert not verdict.allowed
    assert verdict.memory["last_suspend_seconds"] == pytest.approx(3600)


def test_memory_from_an_earlier_boot_is_not_taken_for_a_resume() -> None:
    before_reboot = FakeClock(awake_seconds=7200, suspended_seconds=100)
    memory = observe_suspend({}, before_reboot)
    after_reboot = FakeClock(awake_seconds=7200, suspended_seconds=5000, boot_wall=1_700_090_000)
    verdict = evaluate_guards(schedule(), memory, clock=after_reboot, nvml=NO_GPU)
    assert verdict.allowed
    assert verdict.memory["last_resume_monotonic"] is None


def test_garbled_memory_is_treated_as_empty() -> None:
    garbled = {"suspended_total": "many", "boot_epoch": True, "last_resume_monotonic": []}
    verdict = evaluate_guards(schedule(), garbled, clock=FakeClock(), nvml=NO_GPU)
    assert verdict.allowed


def test_zero_grace_periods_never_skip() -> None:
    clock = FakeClock(awake_seconds=1)
    memory = observe_suspend({}, clock)
    clock.suspend(600)
    verdict = evaluate_guards(
        schedule(boot_grace_minutes=0, resume_grace_minutes=0), memory, clock=clock, nvml=NO_GPU
    )
    assert verdict.allowed


def test_any_gpu_with_enough_free_memory_qualifies_by_default() -> None:
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 1.0), gpu(1, 10.0))))
    verdict = evaluate_guards(schedule(min_vram_gb=4), {}, clock=FakeClock(), nvml=nvml)
    assert verdict.allowed
    assert "GPU 1 (RTX 1): 10.0 GiB" in verdict.checks[1].detail


class UnaskedNvml:
    """A GPU reader that must not be asked."""

    def read(self) -> NvmlReading:
        raise AssertionError("NVML was started though nothing asks for a GPU")


def test_with_no_floor_no_gpu_required_and_none_listed_nvml_is_not_started() -> None:
    verdict = evaluate_guards(schedule(min_vram_gb=0), {}, clock=FakeClock(), nvml=UnaskedNvml())
    assert verdict.allowed
    assert verdict.checks[1].detail == "no VRAM floor set (schedule.min_vram_gb = 0)"


def test_a_required_or_listed_gpu_is_still_looked_for_with_no_floor() -> None:
    required = evaluate_guards(
        schedule(min_vram_gb=0, require_gpu=True), {}, clock=FakeClock(), nvml=NO_GPU
    )
    assert not required.allowed and "require_gpu" in (required.reason or "")
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 1.0),)))
    listed = evaluate_guards(schedule(min_vram_gb=0, gpus=[3]), {}, clock=FakeClock(), nvml=nvml)
    assert not listed.allowed and "GPU 3 in schedule.gpus not found" in (listed.reason or "")


def test_every_gpu_short_of_memory_skips_the_cycle_by_default() -> None:
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 1.0), gpu(1, 3.5))))
    verdict = evaluate_guards(schedule(min_vram_gb=4), {}, clock=FakeClock(), nvml=nvml)
    assert not verdict.allowed
    assert verdict.reason == (
        "vram: no GPU has 4 GiB free; the most is 1 (RTX 1): 3.5 GiB; busy rendering?"
    )


def test_each_listed_gpu_must_have_enough_free_memory() -> None:
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 20.0), gpu(1, 2.0), gpu(2, 20.0))))
    busy = evaluate_guards(schedule(gpus=[0, 1]), {}, clock=FakeClock(), nvml=nvml)
    assert not busy.allowed
    assert busy.reason is not None and "GPU 1 (RTX 1): 2.0 GiB" in busy.reason
    free = evaluate_guards(schedule(gpus=[0, 2]), {}, clock=FakeClock(), nvml=nvml)
    assert free.allowed


def test_a_listed_gpu_nvml_does_not_know_fails_the_guard() -> None:
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 20.0),)))
    verdict = evaluate_guards(schedule(gpus=[0, 3]), {}, clock=FakeClock(), nvml=nvml)
    assert not verdict.allowed
    assert verdict.reason == "vram: GPU 3 in schedule.gpus not found (NVML knows 0)"


def test_the_awake_reason_comes_first_when_both_guards_fail() -> None:
    nvml = FakeNvml(NvmlReading(gpus=(gpu(0, 0.5),)))
    verdict = evaluate_guards(schedule(), {}, clock=FakeClock(awake_seconds=10), nvml=nvml)
    assert verdict.reason is not None and verdict.reason.startswith("awake:")
    assert [check.passed for check in verdict.checks] == [False, False]


class FakeNVMLError(Exception):
    pass


class FakeLibraryNotFound(FakeNVMLError):
    pass


class FakeDriverNotLoaded(FakeNVMLError):
    pass


def fake_pynvml(init_error: Exception | None = None, free: tuple[int, ...] = ()) -> Any:
    """A stand-in ``pynvml`` module that records init and shutdown calls."""
    module: Any = types.ModuleType("pynvml")
    module.calls = []
    module.NVMLError = FakeNVMLError
    module.NVMLError_LibraryNotFound = FakeLibraryNotFound
    module.NVMLError_DriverNotLoaded = FakeDriverNotLoaded

    def init() -> None:
        module.calls.append("init")
        if init_error is not None:
            raise init_error

    def get_memory(handle: int) -> Any:
        if free[handle] < 0:
            raise FakeNVMLError("GPU is lost")
        return types.SimpleNamespace(free=free[handle], total=24 * GIB)

    module.nvmlInit = init
    module.nvmlShutdown = lambda: module.calls.append("shutdown")
    module.nvmlDeviceGetCount = lambda: len(free)
    module.nvmlDeviceGetHandleByIndex = lambda index: index
    module.nvmlDeviceGetMemoryInfo = get_memory
    module.nvmlDeviceGetName = lambda handle: b"Fake GPU"
    return module


def test_the_nvml_reader_reads_every_gpu_and_always_shuts_nvml_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = fake_pynvml(free=(5 * GIB, -1, 7 * GIB))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    reading = SystemNvmlReader().read()
    assert reading.problem is None
    assert [(g.index, g.name, g.free_bytes) for g in reading.gpus] == [
        (0, "Fake GPU", 5 * GIB),
        (2, "Fake GPU", 7 * GIB),
    ]
    assert module.calls == ["init", "shutdown"]


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (FakeLibraryNotFound(), "the NVIDIA management library is not installed"),
        (FakeDriverNotLoaded(), "the NVIDIA driver is not loaded"),
        (FakeNVMLError("Insufficient Permissions"), "NVML did not start: Insufficient Permissions"),
    ],
)
def test_an_nvml_that_cannot_start_means_no_gpu(
    monkeypatch: pytest.MonkeyPatch, error: Exception, problem: str
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_error=error))
    reading = SystemNvmlReader().read()
    assert reading == NvmlReading(problem=problem)
    verdict = evaluate_guards(schedule(), {}, clock=FakeClock(), nvml=SystemNvmlReader())
    assert verdict.allowed and verdict.checks[1].detail == f"no GPU ({problem})"


def test_a_missing_pynvml_package_means_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    assert SystemNvmlReader().read().problem == "the nvidia-ml-py package is not installed"


def test_the_real_guards_on_this_machine_give_a_verdict_with_both_checks() -> None:
    # This machine has no NVIDIA driver; where one exists the VRAM check reads real GPUs.
    verdict = evaluate_guards(schedule(boot_grace_minutes=0, resume_grace_minutes=0), {})
    assert [check.name for check in verdict.checks] == ["awake", "vram"]
    reading = SystemNvmlReader().read()
    if reading.problem is not None:
        assert verdict.allowed
        assert verdict.checks[1].detail == f"no GPU ({reading.problem})"
    assert verdict.memory["suspended_total"] >= 0


def test_the_system_clock_counts_boot_time_including_suspend() -> None:
    clock = SystemClock()
    assert clock.boottime() >= clock.monotonic() - 1.0 or sys.platform != "linux"
    assert clock.boottime() > 0
    assert clock.wall() > 1_600_000_000


def test_a_resume_noticed_only_at_a_one_shot_slot_says_its_time_is_uncertain() -> None:
    # A cron --run-cycle: the last cycle at 22:00, asleep overnight, the next slot comes
    # 100 awake minutes after the previous one. When in those 100 minutes the machine
    # resumed nothing tells, so the guard stays on the safe side and says why.
    clock = FakeClock()
    memory = evaluate_guards(schedule(), {}, clock=clock, nvml=NO_GPU).memory
    clock.run(40 * 60)
    clock.suspend(8 * 3600)
    clock.run(60 * 60)
    verdict = evaluate_guards(schedule(), memory, clock=clock, nvml=NO_GPU)
    assert not verdict.allowed
    assert verdict.reason == (
        "awake: resumed from suspend, noticed only 0 s ago (the resume may be up to "
        "100.0 min of awake time back; nothing dates it closer); waiting 5.0 min after a resume"
    )
    assert verdict.memory["resume_window_seconds"] == pytest.approx(100 * 60)


def test_a_resume_seen_at_once_dates_the_next_slot_from_the_real_resume() -> None:
    # The systemd timer's catch-up run fires at the resume: skipped by the grace, but it
    # notices the resume on the spot, so the next slot is judged from the real resume.
    clock = FakeClock()
    memory = evaluate_guards(schedule(), {}, clock=clock, nvml=NO_GPU).memory
    clock.suspend(8 * 3600)
    clock.run(5)
    at_resume = evaluate_guards(schedule(), memory, clock=clock, nvml=NO_GPU)
    assert at_resume.reason is not None
    assert at_resume.reason.startswith("awake: resumed from suspend 0 s ago")
    clock.run(2 * 3600)
    assert evaluate_guards(schedule(), at_resume.memory, clock=clock, nvml=NO_GPU).allowed
