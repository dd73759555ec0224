"""The guards that decide whether a cycle may run now: awake, and enough free VRAM.

A guard that says no is a normal outcome: the cycle is skipped with the guard's reason.

Awake guard: no cycle within ``schedule.boot_grace_minutes`` of boot, nor within
``schedule.resume_grace_minutes`` of a resume from suspend. A resume is seen as growth of
``boottime - monotonic`` (the total time spent suspended, see ``watchman.clocks``) since the
last observation, which the caller keeps in the guard memory between cycles. When the
growth is first seen, the resume is taken to have happened just then: the safe side, since
the resume lies somewhere in the awake time since the last observation and nothing an
unprivileged process can read dates it (``/sys/power/suspend_stats`` only counts suspends
and, in ``last_hw_sleep``, measures the last one; the journal and the kernel log need
privileges or are absent). The scheduler observes every few seconds, so its estimate is
close; a one-shot run that notices a resume only at its slot says so in its reason
("noticed only now") and is skipped once. The systemd timer's catch-up run at a resume
notices it on the spot, so the next slot is judged from the real resume.

VRAM guard: free memory from NVML on the GPUs of ``schedule.gpus``. An empty list means
any GPU may qualify: the guard passes when one GPU has ``min_vram_gb`` GiB free. A list
means every listed GPU must have that much free (a render on any GPU the user named makes
the machine busy), and a listed index that NVML does not know fails the guard. No NVIDIA
library or driver means "no GPU": the guard passes, unless ``schedule.require_gpu``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from watchman.clocks import Clock, SystemClock

if TYPE_CHECKING:
    from watchman.config import ScheduleSettings

logger = logging.getLogger(__name__)

GIB = 1024**3
# Growth of the suspended total below this is reading noise or a small wall-clock slew.
SUSPEND_DETECTION_SECONDS = 2.0
# The boot's wall-clock time drifts a little with NTP; a larger change means a reboot.
REBOOT_DETECTION_SECONDS = 120.0
# A resume first seen more than this long (awake time) after the previous observation is
# dated only loosely; the scheduler looks every 15 s, a one-shot run once per slot.
UNCERTAIN_RESUME_SECONDS = 60.0


@dataclass(frozen=True)
class GuardCheck:
    """One guard's answer: its name, whether it passed, and why in plain words."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GuardVerdict:
    """All guards together.

    ``reason`` is ``"<check name>: <detail>"`` of the first failing check, else None.
    ``memory`` is what the awake guard wants persisted until the next evaluation.
    """

    allowed: bool
    reason: str | None
    checks: tuple[GuardCheck, ...]
    memory: dict[str, Any]


@dataclass(frozen=True)
class GpuMemory:
    """Free and total memory of one GPU, as NVML reports it."""

    index: int
    name: str
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class NvmlReading:
    """What NVML said: the GPUs, or why no GPU could be read (``problem``)."""

    gpus: tuple[GpuMemory, ...] = ()
    problem: str | None = None


class NvmlReader(Protocol):
    """Reads GPU memory; fakes implement this in tests."""

    def read(self) -> NvmlReading:
        """Return every GPU's memory, or a reading whose ``problem`` says why there is none."""
        ...


class SystemNvmlReader:
    """Reads GPU memory through ``pynvml`` (package nvidia-ml-py), imported on first use."""

    def read(self) -> NvmlReading:
        """Initialise NVML, read each GPU's memory and shut NVML down again.

        Returns:
            The GPUs, or a reading with ``problem`` set when the library, the driver or
            NVML itself is unavailable. Never raises for a missing GPU stack.
        """
        try:
            import pynvml
        except ImportError:
            return NvmlReading(problem="the nvidia-ml-py package is not installed")
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError_LibraryNotFound:
            return NvmlReading(problem="the NVIDIA management library is not installed")
        except pynvml.NVMLError_DriverNotLoaded:
            return NvmlReading(problem="the NVIDIA driver is not loaded")
        except pynvml.NVMLError as error:
            return NvmlReading(problem=f"NVML did not start: {error}")
        try:
            return NvmlReading(gpus=tuple(_read_devices(pynvml)))
        except pynvml.NVMLError as error:
            return NvmlReading(problem=f"NVML could not count the GPUs: {error}")
        finally:
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError as error:
                logger.debug("nvmlShutdown failed: %s", error)


def _read_devices(pynvml: Any) -> list[GpuMemory]:
    gpus = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
        except pynvml.NVMLError as error:
            # One unreadable GPU (fallen off the bus, no permission) must not hide the others.
            logger.warning("GPU %d cannot be read through NVML: %s", index, error)
            continue
        if isinstance(name, bytes):  # older nvidia-ml-py versions return bytes
            name = name.decode(errors="replace")
        gpus.append(GpuMemory(index, str(name), int(memory.free), int(memory.total)))
    return gpus


def evaluate_guards(
    schedule: ScheduleSettings,
    memory: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    nvml: NvmlReader | None = None,
) -> GuardVerdict:
    """Run the awake and VRAM guards.

    Args:
        schedule: the schedule settings (grace periods, VRAM floor, GPUs).
        memory: the guard memory persisted after the previous evaluation (may be empty).
        clock: the clocks to read (default: the machine's).
        nvml: the GPU reader (default: NVML through pynvml).

    Returns:
        The verdict; its ``memory`` is to be persisted by the caller.
    """
    clock = clock or SystemClock()
    new_memory = observe_suspend(memory, clock)
    checks = (
        awake_check(schedule, new_memory, clock),
        vram_check(schedule, (nvml or SystemNvmlReader()).read())
        if asks_the_gpus(schedule)
        else GuardCheck("vram", True, "no VRAM floor set (schedule.min_vram_gb = 0)"),
    )
    failed = next((check for check in checks if not check.passed), None)
    reason = f"{failed.name}: {failed.detail}" if failed else None
    return GuardVerdict(allowed=failed is None, reason=reason, checks=checks, memory=new_memory)


def observe_suspend(memory: Mapping[str, Any], clock: Clock) -> dict[str, Any]:
    """Compare the suspended total with the last observation and note a resume.

    Args:
        memory: the previous observation (keys ``boot_epoch``, ``suspended_total``,
            ``observed_monotonic``, ``last_resume_monotonic``, ``last_suspend_seconds``,
            ``resume_window_seconds``);
            empty or from another boot means no resume is known.
        clock: the clocks to read.

    Returns:
        The new observation, to persist. ``last_resume_monotonic`` is set to now when the
        suspended total grew since the previous observation, and ``resume_window_seconds``
        to the awake time since that observation: how long ago the resume may really be.
    """
    monotonic = clock.monotonic()
    boottime = clock.boottime()
    suspended_total = boottime - monotonic
    boot_epoch = clock.wall() - boottime
    observation: dict[str, Any] = {
        "boot_epoch": boot_epoch,
        "suspended_total": suspended_total,
        "observed_monotonic": monotonic,
        "last_resume_monotonic": None,
        "last_suspend_seconds": None,
        "resume_window_seconds": None,
    }
    previous_total = _number(memory.get("suspended_total"))
    previous_epoch = _number(memory.get("boot_epoch"))
    if previous_total is None or previous_epoch is None:
        return observation
    if abs(previous_epoch - boot_epoch) > REBOOT_DETECTION_SECONDS or (
        suspended_total < previous_total - SUSPEND_DETECTION_SECONDS
    ):
        logger.debug("Guard memory is from an earlier boot; starting afresh.")
        return observation
    observation["last_resume_monotonic"] = _number(memory.get("last_resume_monotonic"))
    observation["last_suspend_seconds"] = _number(memory.get("last_suspend_seconds"))
    observation["resume_window_seconds"] = _number(memory.get("resume_window_seconds"))
    grown = suspended_total - previous_total
    if grown > SUSPEND_DETECTION_SECONDS:
        logger.info("The machine was suspended for about %.0f s.", grown)
        observation["last_resume_monotonic"] = monotonic
        observation["last_suspend_seconds"] = grown
        # How much awake time the resume may lie back: all of it since the last look.
        previous_monotonic = _number(memory.get("observed_monotonic"))
        if previous_monotonic is not None:
            observation["resume_window_seconds"] = max(monotonic - previous_monotonic, 0.0)
    # The total is compared with the previous observation only, never with an older one, so
    # that slow drift (NTP slewing the wall clock on non-Linux systems) never adds up to a
    # false resume; a suspend is always a jump.
    return observation


def awake_check(
    schedule: ScheduleSettings, observation: Mapping[str, Any], clock: Clock
) -> GuardCheck:
    """Fail within the boot grace or the resume grace, given a fresh ``observe_suspend``."""
    uptime = clock.boottime()
    boot_grace = schedule.boot_grace_minutes * 60
    if uptime < boot_grace:
        return GuardCheck(
            "awake",
            False,
            f"booted {_duration(uptime)} ago; waiting {_duration(boot_grace)} after boot",
        )
    last_resume = _number(observation.get("last_resume_monotonic"))
    resume_grace = schedule.resume_grace_minutes * 60
    if last_resume is not None:
        awake_for = clock.monotonic() - last_resume
        if awake_for < resume_grace:
            window = _number(observation.get("resume_window_seconds")) or 0.0
            if window - awake_for > UNCERTAIN_RESUME_SECONDS:
                when = (
                    f"resumed from suspend, noticed only {_duration(awake_for)} ago (the resume "
                    f"may be up to {_duration(window)} of awake time back; nothing dates it "
                    "closer)"
                )
            else:
                when = f"resumed from suspend {_duration(awake_for)} ago"
            return GuardCheck(
                "awake", False, f"{when}; waiting {_duration(resume_grace)} after a resume"
            )
        return GuardCheck(
            "awake", True, f"up {_duration(uptime)}, awake {_duration(awake_for)} since resume"
        )
    return GuardCheck("awake", True, f"up {_duration(uptime)}")


def asks_the_gpus(schedule: ScheduleSettings) -> bool:
    """Return whether the VRAM guard has anything to judge: a floor above zero, a GPU
    required or GPUs listed. Without, NVML is not started (on a GPU machine that is tens
    of milliseconds of every cron start, and a driver call during a render)."""
    return schedule.min_vram_gb > 0 or schedule.require_gpu or bool(schedule.gpus)


def vram_check(schedule: ScheduleSettings, reading: NvmlReading) -> GuardCheck:
    """Judge free GPU memory against ``schedule.min_vram_gb`` (see the module docstring)."""
    if reading.problem is not None or not reading.gpus:
        why = reading.problem or "NVML lists no GPU"
        if schedule.require_gpu:
            return GuardCheck("vram", False, f"no GPU ({why}) and schedule.require_gpu is set")
        return GuardCheck("vram", True, f"no GPU ({why})")
    floor = schedule.min_vram_gb * GIB
    need = f"{schedule.min_vram_gb:g} GiB"
    if not schedule.gpus:
        best = max(reading.gpus, key=lambda gpu: gpu.free_bytes)
        if best.free_bytes >= floor:
            return GuardCheck("vram", True, f"GPU {_describe(best)} free (need {need})")
        return GuardCheck(
            "vram", False, f"no GPU has {need} free; the most is {_describe(best)}; busy rendering?"
        )
    by_index = {gpu.index: gpu for gpu in reading.gpus}
    unknown = [index for index in schedule.gpus if index not in by_index]
    if unknown:
        known = ", ".join(str(index) for index in sorted(by_index)) or "none"
        return GuardCheck(
            "vram",
            False,
            f"GPU {', '.join(map(str, unknown))} in schedule.gpus not found (NVML knows {known})",
        )
    short = [by_index[index] for index in schedule.gpus if by_index[index].free_bytes < floor]
    if short:
        listed = "; ".join(_describe(gpu) for gpu in short)
        return GuardCheck("vram", False, f"less than {need} free on GPU {listed}; busy rendering?")
    listed = "; ".join(_describe(by_index[index]) for index in schedule.gpus)
    return GuardCheck("vram", True, f"GPU {listed} free (need {need} on each)")


def _describe(gpu: GpuMemory) -> str:
    return f"{gpu.index} ({gpu.name}): {gpu.free_bytes / GIB:.1f} GiB"


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
