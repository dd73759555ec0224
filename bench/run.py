"""Scale benchmarks: a cycle's cost as a ratio to a bare walk of the same trees.

Generates a synthetic ComfyUI tree (``bench/generate_tree.py``) in a temporary folder, or
reuses ``--tree``, then measures in one run:

* the floor: a bare ``os.walk`` of the models folder, the watched workflows folder and
  ``custom_nodes`` (best of three, warm); a walk that also stats every file is shown too;
* the first full offline cycle (cold state: every workflow hashed and parsed);
* a cycle with nothing changed (median of three), and once more with Python's cyclic
  garbage collector off, to show how much of it the collector takes;
* a cycle after touching one workflow (mtime changes, bytes do not) and after editing one;
* ``ModelInventory.locate`` lookups per second against a lower-cased dict lookup.

Every figure is reported as a ratio to its floor measured in the same run, with absolute
seconds for context, and the peak RSS. Timings depend on the machine; ratios much less so.
The table is printed and written to ``bench/results/latest.json``.

Usage: ``python bench/run.py`` (100k models, 2,000 workflows, 50 packs), ``--quick`` (10k /
200 / 10), or ``--models/--workflows/--packs`` for any size.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run from a checkout without installing the package: the repository root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from bench.generate_tree import generate_tree
from watchman.comfy.model_key import ModelKey
from watchman.config import load_settings
from watchman.cycle import CycleResult, run_cycle
from watchman.home import Home
from watchman.stages.guards import GuardVerdict
from watchman.stages.inventory.models import ModelInventory, scan_models

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
WORKFLOWS_FOLDER = Path("user") / "default" / "workflows"
SIZES = {"default": (100_000, 2_000, 50), "quick": (10_000, 200, 10)}


@dataclass(frozen=True)
class Figure:
    """One measurement: seconds, the floor it is compared to, and details."""

    name: str
    seconds: float
    floor: str
    floor_seconds: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 4),
            "floor": self.floor,
            "floor_seconds": round(self.floor_seconds, 4),
            "ratio": round(self.ratio, 2),
            **self.detail,
        }


def peak_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _best_of(times: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        value = action()
        best = min(best, time.perf_counter() - started)
    return best, value


def walked_folders(root: Path) -> list[Path]:
    """The folders a cycle walks: models, the watched workflows, custom_nodes."""
    return [root / "models", root / WORKFLOWS_FOLDER, root / "custom_nodes"]


def bare_walk(folders: Sequence[Path]) -> int:
    """Walk the folders with ``os.walk`` (following links, as ComfyUI does); return the
    number of files seen. This is the floor: no stat, no parse, no state."""
    files = 0
    for folder in folders:
        for _, _, names in os.walk(folder, followlinks=True):
            files += len(names)
    return files


def walk_with_stat(folders: Sequence[Path]) -> int:
    """Walk with ``os.scandir`` and stat every file; return the number of files."""
    files = 0
    stack = [str(folder) for folder in folders]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    entry.stat()
                    files += 1
    return files


def _stage_log(home: Home, cycle_id: str) -> tuple[dict[str, float], dict[str, int]]:
    """Each stage's duration for one cycle, and how many workflows that cycle hashed and
    parsed, read from the structured log."""
    stages: dict[str, float] = {}
    workflow_files: dict[str, int] = {}
    with home.structured_log.open(encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if event.get("cycle_id") != cycle_id or event.get("event") != "stage":
                continue
            if "duration_seconds" in event:
                stages[event["phase"]] = event["duration_seconds"]
            if event["phase"] == "workflows":
                workflow_files = {key: event.get(key, 0) for key in ("hashed", "parsed")}
    return stages, workflow_files


def _allow_always(*_: Any) -> GuardVerdict:
    return GuardVerdict(allowed=True, reason=None, checks=(), memory={})


class CycleRunner:
    """Runs offline cycles on one tree with one home and times them."""

    def __init__(self, root: Path, work: Path) -> None:
        config = work / "bench.toml"
        config.write_text("# Empty: the benchmark's settings come from overrides.\n", "utf-8")
        self.settings = load_settings(
            config,
            overrides={
                "comfyui": {"root": str(root), "use_server": False},
                "search": {"offline": True},
            },
            environ={},
        )
        self.home = Home(work / "home")
        self.root = root

    def run(self, name: str, floor_seconds: float) -> Figure:
        gc.collect()
        started = time.perf_counter()
        result: CycleResult = run_cycle(self.settings, self.home, guard_evaluator=_allow_always)
        seconds = time.perf_counter() - started
        if result.record.outcome != "ran":
            raise RuntimeError(f"{name}: the cycle did not run: {result.record.reason}")
        stages, workflow_files = _stage_log(self.home, result.record.cycle_id)
        return Figure(
            name,
            seconds,
            "bare walk",
            floor_seconds,
            {
                "stages": stages,
                "workflow_files": workflow_files,
                "counts": result.record.counts,
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
        )


def _locate_queries(inventory: ModelInventory, count: int, seed: int) -> list[tuple[str, str]]:
    """A mix like the workflows': present (some upper-case or with ``\\``), misplaced
    (a file name asked of another folder) and missing names."""
    rng = random.Random(seed)
    folders = [name for name, files in inventory.files.items() if files]
    queries: list[tuple[str, str]] = []
    for index in range(count):
        folder = rng.choice(folders)
        model = rng.choice(inventory.files[folder])
        roll = rng.random()
        if roll < 0.6:
            value = model.relative_path
            if rng.random() < 0.2:
                value = value.replace("/", "\\").upper()
            queries.append((folder, value))
        elif roll < 0.8:
            queries.append((rng.choice(folders), model.file_name))
        else:
            queries.append((folder, f"absent_{index}.safetensors"))
    return queries


def measure_locate(inventory: ModelInventory, count: int) -> Figure:
    """Time ``locate`` over ``count`` queries against a lower-cased dict lookup of each."""
    queries = _locate_queries(inventory, count, seed=1)
    index = {m.relative_path.lower(): m for files in inventory.files.values() for m in files}

    def floor() -> int:
        return sum(1 for _, value in queries if index.get(value.lower()) is not None)

    def locate() -> dict[str, int]:
        states: dict[str, int] = {}
        for folder, value in queries:
            state = inventory.locate(ModelKey.of(folder, value)).state
            states[state] = states.get(state, 0) + 1
        return states

    floor_seconds, _ = _best_of(3, floor)
    seconds, states = _best_of(3, locate)
    return Figure(
        "locate",
        seconds,
        "dict lookup",
        floor_seconds,
        {
            "queries": count,
            "lookups_per_second": round(count / seconds),
            "floor_lookups_per_second": round(count / floor_seconds),
            "states": states,
        },
    )


def _pick_workflow(root: Path, seed: int) -> Path:
    paths = sorted((root / WORKFLOWS_FOLDER).rglob("*.json"))
    return random.Random(seed).choice(paths)


def run_benchmarks(root: Path, work: Path, locate_queries: int) -> dict[str, Any]:
    """Measure every figure on the tree at ``root``; state goes under ``work``."""
    folders = walked_folders(root)
    bare_walk(folders)  # warm the page cache, as a resident daemon's would be
    floor_seconds, files = _best_of(3, lambda: bare_walk(folders))
    stat_seconds, _ = _best_of(3, lambda: walk_with_stat(folders))
    figures = [
        Figure("walk + stat every file", stat_seconds, "bare walk", floor_seconds, {}),
    ]
    rss_before = peak_rss_mib()
    runner = CycleRunner(root, work)
    figures.append(runner.run("first cycle (cold state)", floor_seconds))
    unchanged = [runner.run("unchanged cycle", floor_seconds) for _ in range(3)]
    figures.append(sorted(unchanged, key=lambda figure: figure.seconds)[1])

    # The same cycle with Python's cyclic garbage collector off: how much of its cost is
    # collections triggered by the inventory's many small objects (a diagnosis only).
    gc.disable()
    try:
        figures.append(runner.run("unchanged cycle, gc off", floor_seconds))
    finally:
        gc.enable()

    touched = _pick_workflow(root, seed=2)
    os.utime(touched)
    figures.append(runner.run("one workflow touched", floor_seconds))

    edited = _pick_workflow(root, seed=3)
    original = edited.read_bytes()
    try:
        edited.write_bytes(original + b"\n")
        figures.append(runner.run("one workflow edited", floor_seconds))
    finally:
        edited.write_bytes(original)  # a reused --tree stays as generated

    inventory = scan_models(root)
    figures.append(measure_locate(inventory, locate_queries))
    return {
        "floor": {"bare_walk_seconds": round(floor_seconds, 4), "files_walked": files},
        "figures": [figure.to_json() for figure in figures],
        "peak_rss_mib_before_cycles": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_mib_now": round(psutil.Process().memory_info().rss / (1024 * 1024), 1),
        "model_cache_bytes": runner.home.model_cache.stat().st_size,
        "workflow_cache_bytes": runner.home.workflow_cache.stat().st_size,
    }


def format_table(results: dict[str, Any]) -> str:
    """Return the results as a plain-text table, one figure a line."""
    lines = [
        f"floor: bare walk of {results['floor']['files_walked']:,} files in "
        f"{results['floor']['bare_walk_seconds']:.3f} s",
        f"{'figure':<28} {'ratio':>8}  {'seconds':>8}  floor",
    ]
    for figure in results["figures"]:
        lines.append(
            f"{figure['name']:<28} {figure['ratio']:>7.2f}x  {figure['seconds']:>8.3f}  "
            f"{figure['floor']} ({figure['floor_seconds']:.4f} s)"
        )
        if "stages" in figure:
            stages = ", ".join(f"{k} {v:.3f}" for k, v in figure["stages"].items())
            lines.append(f"{'':<4}stages (s): {stages}")
            files = figure["workflow_files"]
            lines.append(
                f"{'':<4}workflows hashed {files.get('hashed')}, parsed {files.get('parsed')}"
            )
        if "lookups_per_second" in figure:
            lines.append(
                f"{'':<4}{figure['lookups_per_second']:,} lookups/s vs "
                f"{figure['floor_lookups_per_second']:,}/s; {figure['states']}"
            )
    lines.append(
        f"peak RSS: {results['peak_rss_mib']:.0f} MiB "
        f"(before the cycles: {results['peak_rss_mib_before_cycles']:.0f} MiB); caches: model "
        f"{results['model_cache_bytes'] / 1e6:.1f} MB, workflow "
        f"{results['workflow_cache_bytes'] / 1e6:.1f} MB"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k models / 200 workflows")
    parser.add_argument("--models", type=int)
    parser.add_argument("--workflows", type=int)
    parser.add_argument("--packs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tree", type=Path, help="reuse a tree made by generate_tree.py")
    parser.add_argument("--locate-queries", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    models, workflows, packs = SIZES["quick" if arguments.quick else "default"]
    models = arguments.models if arguments.models is not None else models
    workflows = arguments.workflows if arguments.workflows is not None else workflows
    packs = arguments.packs if arguments.packs is not None else packs

    with tempfile.TemporaryDirectory(prefix="watchman-bench-") as temporary:
        work = Path(temporary)
        tree: dict[str, Any]
        if arguments.tree is not None:
            root = arguments.tree.resolve()
            tree = {"reused": str(root)}
        else:
            root = work / "ComfyUI"
            started = time.perf_counter()
            tree = generate_tree(root, models, workflows, packs, arguments.seed).to_json()
            tree["generate_seconds"] = round(time.perf_counter() - started, 2)
            print(f"generated {tree} in {root}", flush=True)
        results = run_benchmarks(root, work, arguments.locate_queries)
    results = {
        "tree": tree,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        **results,
    }
    print(format_table(results))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
