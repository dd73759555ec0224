"""Scale benchmarks: what a cycle costs, as ratios to a walk of the same trees in one run.

Generates a synthetic ComfyUI tree (``bench/generate_tree.py``) in a temporary folder, or
reuses ``--tree``, then measures in one run:

* the floor: a Python ``os.scandir`` walk of ``models/``, ``custom_nodes/`` and the watched
  workflows folder collecting each file's name, size and mtime (best of three, warm); and
  the bare walk, ``os.walk`` with names only;
* the cold cycle's least reads: the floor's walk, then every watched workflow read and
  decoded with orjson, then the first 4 KiB of every model file read (what a health check
  cannot do without): no rule, report or state, a bound no cold cycle can beat;
* in one process that behaves as the scheduler (``bench/cycle_child.py``): the cold cycle
  (empty state), the unchanged cycle (median of ``--repeat``), one workflow edited, one
  model added, and a full re-stat (the clock a day on), each with its peak RSS, and the
  resident set between cycles;
* the unchanged cycle as a fresh process, as cron runs it: ``python -m watchman
  --run-cycle`` with start-up included (median of ``--repeat``), with its peak RSS;
* a growth table: the floor, the cold cycle and the unchanged cycles (scheduler and fresh
  process) at several sizes (``--growth``; default 25k, 50k, 100k and 200k models, with
  workflows and packs in proportion), with the log-log slope of each against the floor's.

Every figure is a ratio to the floor measured in the same run, with seconds for context.
The table is printed and written to ``bench/results/latest.json``.

Usage: ``python bench/run.py`` (100k models, 5,000 workflows, 300 packs, then the growth
table), ``--quick`` (10k / 500 / 30, growth 2.5k-10k), ``--no-growth``, or
``--models/--workflows/--packs`` for any size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

# Run from a checkout without installing the package: the repository root on the path.
REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from bench.generate_tree import generate_tree  # noqa: E402
from watchman.clocks import RACY_NANOSECONDS  # noqa: E402
from watchman.comfy.folders import MODEL_EXTENSIONS  # noqa: E402
from watchman.comfy.model_file_check import SNIFF_BYTES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
WORKFLOWS_FOLDER = Path("user") / "default" / "workflows"
SIZES = {"default": (100_000, 5_000, 300), "quick": (10_000, 500, 30)}
GROWTH = {"default": (25_000, 50_000, 100_000, 200_000, 500_000), "quick": (2_500, 5_000, 10_000)}
GOALS = {
    "cold cycle": 3.0,
    "unchanged cycle, scheduler": 0.5,
    "unchanged cycle, fresh process": 1.0,
}
PEAK_RSS_GOAL_MIB = 200
IDLE_RSS_GOAL_MIB = 100


def walked_folders(root: Path) -> list[Path]:
    """The folders a cycle walks: models, custom_nodes and the watched workflows."""
    return [root / "models", root / "custom_nodes", root / WORKFLOWS_FOLDER]


def floor_walk(folders: Sequence[Path]) -> int:
    """The floor: an ``os.scandir`` walk collecting each file's name, size and mtime.
    Returns the number of files."""
    return len(stat_walk(folders))


def stat_walk(folders: Sequence[Path]) -> list[tuple[str, int, float]]:
    """Walk ``folders`` with ``os.scandir``: each file's path (its name in its folder, made
    by the walk anyway), size and mtime."""
    collected: list[tuple[str, int, float]] = []
    stack = [str(folder) for folder in folders]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    stat = entry.stat()
                    collected.append((entry.path, stat.st_size, stat.st_mtime))
    return collected


def bare_walk(folders: Sequence[Path]) -> int:
    """``os.walk`` with names only (no stat); returns the number of files."""
    return sum(len(names) for folder in folders for _, _, names in os.walk(folder))


def least_cold_reads(folders: Sequence[Path], workflows: Path) -> tuple[int, int]:
    """What a cold cycle cannot do without, and nothing else: the floor's walk, every
    watched workflow read and decoded (orjson, the fastest decoder there is), and the
    first bytes of every model file read (a health check's least: ``SNIFF_BYTES``, one
    bare descriptor each). Returns the workflows decoded and the model files opened."""
    collected = stat_walk(folders)
    decoded = opened = 0
    watched = str(workflows) + os.sep
    for path, size, _ in collected:
        extension = os.path.splitext(path)[1].lower()
        if path.startswith(watched):
            if extension == ".json":
                with open(path, "rb") as file:
                    orjson.loads(file.read())
                decoded += 1
        elif extension in MODEL_EXTENSIONS and size > 0:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.read(descriptor, SNIFF_BYTES)
            finally:
                os.close(descriptor)
            opened += 1
    return decoded, opened


def settle() -> None:
    """Wait out the timestamp granularity after writing a tree: a folder changed within it
    is listed again by the next cycle (git's racy rule), as it would be in real use, but
    a user's tree is not written a second before each measured cycle."""
    time.sleep(RACY_NANOSECONDS / 1e9 + 0.1)


def _best_of(times: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(times):
        started = time.perf_counter()
        value = action()
        best = min(best, time.perf_counter() - started)
    return best, value


def write_config(root: Path, home: Path) -> Path:
    """A config for offline cycles on ``root`` with guards that always pass here."""
    config = home.parent / f"{home.name}.toml"
    config.write_text(
        "\n".join(
            [
                "[paths]",
                f"home = {json.dumps(str(home))}",
                "[comfyui]",
                f"root = {json.dumps(str(root))}",
                "use_server = false",
                "[schedule]",
                "boot_grace_minutes = 0",
                "resume_grace_minutes = 0",
                "min_vram_gb = 0",
                "[search]",
                "offline = true",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


def _python() -> str:
    return sys.executable


# The resident scheduler runs as systemd/comfywatchman.service runs it: with glibc's
# allocator for every object (PYTHONMALLOC=malloc), so the memory a cycle freed goes back
# to the system between cycles. ``--scheduler-allocator pymalloc`` measures Python's own.
SCHEDULER_ALLOCATOR = {"malloc": {"PYTHONMALLOC": "malloc"}, "pymalloc": {}}


def scheduler_figures(
    config: Path,
    root: Path,
    repeat: int,
    cold_and_unchanged_only: bool = False,
    allocator: str = "malloc",
) -> dict[str, Any]:
    """Run ``bench/cycle_child.py`` (under ``allocator``) and return what it measured."""
    command = [
        _python(),
        str(REPOSITORY / "bench" / "cycle_child.py"),
        "--config",
        str(config),
        "--root",
        str(root),
        "--repeat",
        str(repeat),
    ]
    if cold_and_unchanged_only:
        command.append("--cold-and-unchanged-only")
    environment = {
        key: value for key, value in os.environ.items() if key != "PYTHONMALLOC"
    } | SCHEDULER_ALLOCATOR[allocator]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=environment
    ).stdout
    return {**json.loads(output.strip().splitlines()[-1]), "allocator": allocator}


def fresh_process_cycle(config: Path) -> tuple[float, float, float]:
    """Run ``python -m watchman --run-cycle`` once; return wall seconds, CPU seconds and
    the child's peak RSS in MiB."""
    # Without PYTHONDONTWRITEBYTECODE (set in some shells and CI images): cron's process
    # imports from bytecode an installed package or its first run wrote, while with it set
    # every module edited since its cache was written is compiled again on each run
    # (~0.2 s here); the untimed run before the timed ones writes the caches.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMFYWATCHMAN_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [_python(), "-m", "watchman", "--config", str(config), "--run-cycle"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=str(REPOSITORY),
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read() if process.stderr else b""
    if process.returncode != 0:
        raise RuntimeError(f"--run-cycle exited {process.returncode}: {error.decode()[-500:]}")
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return seconds, usage.ru_utime + usage.ru_stime, peak


def measure(
    root: Path, work: Path, repeat: int, full: bool = True, allocator: str = "malloc"
) -> dict[str, Any]:
    """Measure every figure on the tree at ``root``; state goes under ``work``; the
    scheduler's cycles run under ``allocator`` (see ``SCHEDULER_ALLOCATOR``)."""
    folders = walked_folders(root)
    floor_walk(folders)  # warm the page cache, as a resident daemon's would be
    floor_seconds, files = _best_of(3, lambda: floor_walk(folders))
    bare_seconds, _ = _best_of(3, lambda: bare_walk(folders))
    least: dict[str, Any] = {}
    if full:
        least_seconds, (decoded, opened) = _best_of(
            3, lambda: least_cold_reads(folders, root / WORKFLOWS_FOLDER)
        )
        least = {
            "least_cold_reads": {
                "seconds": round(least_seconds, 4),
                "ratio": round(least_seconds / floor_seconds, 3),
                "workflows_decoded": decoded,
                "model_files_opened": opened,
            }
        }
    home = work / f"home-{root.name}"
    config = write_config(root, home)
    child = scheduler_figures(
        config, root, repeat, cold_and_unchanged_only=not full, allocator=allocator
    )
    figures = child.pop("figures")
    # The scheduler's last cycles edited the tree a moment ago: a cycle now would see those
    # stamps as racy and run in full, as it should, but that is not an unchanged cycle.
    # Wait out the granularity, and let one untimed cycle write the fingerprint.
    settle()
    fresh_process_cycle(config)
    runs = [fresh_process_cycle(config) for _ in range(repeat)]
    runs.sort()
    wall, cpu, peak = runs[len(runs) // 2]
    figures.insert(
        2,
        {
            "name": "unchanged cycle, fresh process",
            "seconds": wall,
            "cpu_seconds": cpu,
            "peak_rss_mib": round(peak, 1),
            "runs": [round(run[0], 4) for run in runs],
            "seconds_spread": round(statistics.pstdev(run[0] for run in runs), 4),
        },
    )
    for figure in figures:
        figure["ratio"] = round(figure["seconds"] / floor_seconds, 3)
        figure["ratio_cpu"] = round(figure["cpu_seconds"] / floor_seconds, 3)
        figure["ratio_bare_walk"] = round(figure["seconds"] / bare_seconds, 3)
        figure["seconds"] = round(figure["seconds"], 4)
        figure["cpu_seconds"] = round(figure["cpu_seconds"], 4)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "floor": {
            "seconds": round(floor_seconds, 4),
            "bare_walk_seconds": round(bare_seconds, 4),
            "files": files,
        },
        **least,
        "figures": figures,
        **child,
    }


def growth_table(
    sizes: Sequence[int], base: tuple[int, int, int], work: Path, repeat: int, seed: int
) -> dict[str, Any]:
    """Generate a tree per size (workflows and packs in proportion to ``base``), measure
    the floor, cold and unchanged cycles, and fit log-log slopes; trees are deleted."""
    models0, workflows0, packs0 = base
    rows = []
    for models in sizes:
        workflows = max(1, round(workflows0 * models / models0))
        packs = max(1, round(packs0 * models / models0))
        root = work / f"growth-{models}"
        generate_tree(root, models, workflows, packs, seed)
        settle()
        try:
            measured = measure(root, work, repeat, full=False)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        by_name = {figure["name"]: figure for figure in measured["figures"]}
        rows.append(
            {
                "models": models,
                "workflows": workflows,
                "packs": packs,
                "files": measured["floor"]["files"],
                "floor_seconds": measured["floor"]["seconds"],
                **{
                    name: {
                        "seconds": by_name[name]["seconds"],
                        "ratio": by_name[name]["ratio"],
                        "peak_rss_mib": by_name[name]["peak_rss_mib"],
                    }
                    for name in GOALS
                },
            }
        )
        print(f"growth: {models:,} models measured", flush=True)
    slopes = {"floor": _slope([r["models"] for r in rows], [r["floor_seconds"] for r in rows])}
    for name in GOALS:
        slopes[name] = _slope([r["models"] for r in rows], [r[name]["seconds"] for r in rows])
    return {"rows": rows, "log_log_slopes": slopes}


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of log(y) against log(x): 1.0 is linear growth."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 2)


def format_table(results: dict[str, Any]) -> str:
    """Return the results as plain text: one figure a line, then the growth table."""
    floor = results["floor"]
    lines = [
        f"floor: scandir walk of {floor['files']:,} files collecting name, size, mtime: "
        f"{floor['seconds']:.3f} s (bare os.walk {floor['bare_walk_seconds']:.3f} s)",
        f"{'figure':<32} {'ratio':>7} {'cpu':>7} {'/bare':>7} {'seconds':>8} {'peak RSS':>9}  goal",
    ]
    least = results.get("least_cold_reads")
    if least:
        lines.insert(
            1,
            "least a cold cycle reads (the walk, {:,} workflows decoded, {:,} model "
            "headers): {:.3f} s, {:.2f}x the floor".format(
                least["workflows_decoded"],
                least["model_files_opened"],
                least["seconds"],
                least["ratio"],
            ),
        )
    for figure in results["figures"]:
        goal = GOALS.get(figure["name"])
        lines.append(
            f"{figure['name']:<32} {figure['ratio']:>6.2f}x {figure['ratio_cpu']:>6.2f}x "
            f"{figure['ratio_bare_walk']:>6.2f}x {figure['seconds']:>8.3f} "
            f"{figure['peak_rss_mib']:>6.0f} MiB  {f'<= {goal}x' if goal else ''}"
        )
    lines.append(
        f"scheduler RSS between cycles: {results['scheduler_idle_rss_mib']:.0f} MiB "
        f"(goal <= {IDLE_RSS_GOAL_MIB}); peak RSS goal <= {PEAK_RSS_GOAL_MIB} MiB"
    )
    lines.append(
        "state: model cache {:.1f} MB, workflow cache {:.1f} MB, listing {:.1f} MB, "
        "fingerprint {:.2f} MB, needs cache {:.1f} MB".format(
            results["model_cache_bytes"] / 1e6,
            results["workflow_cache_bytes"] / 1e6,
            results["listing_cache_bytes"] / 1e6,
            results["fingerprint_bytes"] / 1e6,
            results.get("needs_cache_bytes", 0) / 1e6,
        )
    )
    growth = results.get("growth")
    if growth:
        lines.append("growth (seconds, ratio to the floor):")
        lines.append(
            f"{'models':>8} {'files':>8} {'floor':>7} {'cold':>14} {'unchanged sched':>16} "
            f"{'unchanged fresh':>16}"
        )
        for row in growth["rows"]:
            cells = [f"{row[name]['seconds']:>7.2f} {row[name]['ratio']:>5.2f}x" for name in GOALS]
            lines.append(
                f"{row['models']:>8,} {row['files']:>8,} {row['floor_seconds']:>7.2f} "
                + " ".join(f"{cell:>16}" for cell in cells)
            )
        lines.append(f"log-log slopes against models: {growth['log_log_slopes']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k models / 500 workflows")
    parser.add_argument("--models", type=int)
    parser.add_argument("--workflows", type=int)
    parser.add_argument("--packs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs per median")
    parser.add_argument("--tree", type=Path, help="reuse a tree made by generate_tree.py")
    parser.add_argument("--growth", type=int, nargs="*", help="model counts for growth")
    parser.add_argument("--no-growth", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    parser.add_argument(
        "--scheduler-allocator",
        choices=sorted(SCHEDULER_ALLOCATOR),
        default="malloc",
        help="the scheduler's allocator (malloc: as the systemd service runs it)",
    )
    arguments = parser.parse_args(argv)
    size = "quick" if arguments.quick else "default"
    models, workflows, packs = SIZES[size]
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
            settle()
        results = measure(root, work, arguments.repeat, allocator=arguments.scheduler_allocator)
        if arguments.tree is None:
            shutil.rmtree(root, ignore_errors=True)
        sizes = arguments.growth if arguments.growth is not None else GROWTH[size]
        if sizes and not arguments.no_growth:
            results["growth"] = growth_table(
                sizes, (models, workflows, packs), work, max(1, arguments.repeat // 2), 0
            )
    results = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tree": tree,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
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
