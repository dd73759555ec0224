"""One benchmark process that behaves as the scheduler does: cycles back to back in one
process, state kept in memory, memory handed back between cycles (``bench/run.py`` runs
it as a child so its memory is its own).

Measures, on the tree and home given: the cold cycle, unchanged cycles, one workflow
edited, one model added and a full re-stat (the clock moved a day on), each with its wall
and CPU seconds, its peak RSS (Linux: the high-water mark reset before each cycle), the
number of workflows parsed, and the resident set between cycles. Prints one JSON object.
The tree is left as it was found.

Usage: ``python bench/cycle_child.py --config CONFIG --root TREE --repeat 5``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Run from a checkout without installing the package: the repository root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate_tree import model_body
from watchman.clocks import SystemClock
from watchman.config_loading import load_settings
from watchman.cycle import run_cycle
from watchman.environment import Environment
from watchman.home import Home
from watchman.services import Services, build_services
from watchman.stages.guards import GuardVerdict
from watchman.state.memory import release_memory

DAY = 86_400.0


class ShiftedClock(SystemClock):
    """The system's clocks with the wall clock moved on (a full re-stat falls due)."""

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def wall(self) -> float:
        return time.time() + self.shift


def _allow(*_: Any) -> GuardVerdict:
    return GuardVerdict(allowed=True, reason=None, checks=(), memory={})


def rss_mib() -> float:
    """The resident set now, in MiB (Linux; 0 elsewhere)."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """The resident high-water mark since the last reset, in MiB (Linux; 0 elsewhere)."""
    return _status_kib("VmHWM") / 1024


def _status_kib(key: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def reset_peak() -> None:
    """Reset the resident high-water mark (Linux: ``clear_refs`` 5), so each cycle's peak
    is its own."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


class Runner:
    def __init__(self, config: Path) -> None:
        self.settings = load_settings(config, environ={})
        home = self.settings.paths.home
        assert home is not None, "the benchmark config names its home"
        self.home = Home(home)

        self.services: dict[float, Services] = {}

    def _services(self, shift: float) -> Services:
        # Wired once, as the scheduler does; another clock (a day on) needs its own.
        if shift not in self.services:
            environment = Environment(
                environ={}, home_dir=self.home.root, cwd=self.home.root, clock=ShiftedClock(shift)
            )
            self.services[shift] = build_services(self.settings, environment, self.home)
        return self.services[shift]

    def cycle(self, name: str, shift: float = 0.0) -> dict[str, Any]:
        services = self._services(shift)
        reset_peak()
        cpu = time.process_time()
        started = time.perf_counter()
        result = run_cycle(
            self.settings,
            self.home,
            guard_evaluator=_allow,
            services=services,
            trigger="scheduler",
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        peak = peak_rss_mib()
        if result.record.outcome != "ran":
            raise RuntimeError(f"{name}: the cycle did not run: {result.record.reason}")
        stages = _stages(self.home, result.record.cycle_id)
        release_memory()  # as the scheduler does after each cycle
        return {
            "name": name,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "peak_rss_mib": round(peak, 1),
            "rss_after_mib": round(rss_mib(), 1),
            "stages": stages,
        }


def _stages(home: Home, cycle_id: str) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    with home.structured_log.open(encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if event.get("cycle_id") != cycle_id or event.get("event") != "stage":
                continue
            if event.get("unchanged"):
                stages["unchanged"] = True
            if "duration_seconds" in event:
                stages[event["phase"]] = round(event["duration_seconds"], 4)
            if event.get("phase") == "workflows":
                stages["parsed"] = event.get("parsed", 0)
    return stages


def _median(figures: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    chosen = sorted(figures, key=lambda figure: figure["seconds"])[len(figures) // 2]
    return {
        **chosen,
        "name": name,
        "runs": [round(figure["seconds"], 4) for figure in figures],
        "seconds_spread": round(statistics.pstdev(f["seconds"] for f in figures), 4),
    }


def measure(config: Path, root: Path, repeat: int, only_cold_and_unchanged: bool) -> dict:
    runner = Runner(config)
    figures = [runner.cycle("cold cycle")]
    unchanged = [runner.cycle("unchanged cycle, scheduler") for _ in range(repeat)]
    figures.append(_median(unchanged, "unchanged cycle, scheduler"))
    idle_rss = max(figure["rss_after_mib"] for figure in unchanged)
    if not only_cold_and_unchanged:
        workflows = sorted((root / "user" / "default" / "workflows").glob("*.json"))
        edited = workflows[len(workflows) // 2]
        original = edited.read_bytes()
        added = root / "models" / "loras" / "bench_added_model.safetensors"
        try:
            edited.write_bytes(original + b" ")  # other bytes: hashed and parsed again
            figures.append(runner.cycle("one workflow edited"))
            added.write_bytes(model_body(added.name))
            figures.append(runner.cycle("one model added"))
            figures.append(runner.cycle("full re-stat", shift=2 * DAY))
        finally:
            edited.write_bytes(original)
            added.unlink(missing_ok=True)
    from watchman.stages import needs_cache  # loaded by the cycles already

    return {
        "figures": figures,
        "scheduler_idle_rss_mib": idle_rss,
        "model_cache_bytes": _size(runner.home.model_cache),
        "workflow_cache_bytes": _size(runner.home.workflow_cache),
        "listing_cache_bytes": _size(runner.home.listing_cache),
        "fingerprint_bytes": _size(runner.home.fingerprint),
        "needs_cache_bytes": _size(runner.home.state_dir / needs_cache.FILE_NAME),
    }


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold-and-unchanged-only", action="store_true")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    results = measure(
        arguments.config, arguments.root, arguments.repeat, arguments.cold_and_unchanged_only
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
