"""The long fault run (``make faults``): the figures docs/reliability.md reports.

1. The fuzzer: ``--files`` (default 10,000) seeded Hypothesis examples, mutated workflows,
   PNGs, WebPs, MP4s, WebMs, FLACs, MP3s and Opus files, each read in process (a crash is counted,
   with the slowest read), then written in batches of ``--batch`` files with names that
   are not all UTF-8; every batch goes through a real ``scan --json`` and ``--run-cycle``.
2. The SIGKILL harness: ``--kills`` (default 200) cycles killed at random moments over a
   changing tree (tests/faults/kill_harness.py).

Usage: ``python -m tests.faults.run_faults [--files N] [--kills N] [--seed S] [--output
PATH]``; prints the figures and writes them as JSON (default
``bench/results/faults.json``). Exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings

from tests.faults import fuzz
from tests.faults.kill_harness import run_kill_harness
from watchman.comfy.workflow import parse_workflow_bytes
from watchman.errors import WorkflowError
from watchman.state.json_codec import dumps_json

RESULTS = fuzz.REPO / "bench" / "results" / "faults.json"


def fuzz_files(count: int, seed_value: int) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    """Generate ``count`` fuzzed files and read each in process; return them and figures."""
    seeds = fuzz.seed_documents()
    files: list[tuple[str, bytes]] = []
    figures: dict[str, Any] = {
        "generated": 0,
        "read": 0,
        "refused": 0,
        "crashes": 0,
        "slowest_read_seconds": 0.0,
        "by_kind": {
            ".json": 0,
            ".png": 0,
            ".webp": 0,
            **dict.fromkeys(fuzz.MEDIA_FUZZ_SUFFIXES, 0),
        },
        "crash_samples": [],
    }

    @seed(seed_value)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz.fuzzed_file(seeds))
    def one(item: tuple[str, bytes]) -> None:
        suffix, data = item
        files.append(item)
        figures["generated"] += 1
        figures["by_kind"][suffix] += 1
        started = time.perf_counter()
        try:
            parsed = parse_workflow_bytes(fuzz.reader_input(suffix, data), "fuzzed")
            dumps_json(parsed.to_json()).decode("utf-8")
            figures["read"] += 1
        except WorkflowError:
            figures["refused"] += 1
        except Exception:
            figures["crashes"] += 1
            if len(figures["crash_samples"]) < 5:
                figures["crash_samples"].append(traceback.format_exc()[-800:])
        elapsed = time.perf_counter() - started
        figures["slowest_read_seconds"] = max(figures["slowest_read_seconds"], elapsed)

    one()
    return files, figures


def batches_through_scan_and_cycles(
    files: list[tuple[str, bytes]], batch_size: int, work: Path
) -> dict[str, Any]:
    """Write the files in batches into a watched folder; scan each and run a cycle on it."""
    watched = work / "watched"
    config, home = fuzz.cycle_setup(work / "tree", watched)
    figures: dict[str, Any] = {
        "batches": 0,
        "files": 0,
        "scan_failures": 0,
        "cycle_failures": 0,
        "failure_samples": [],
    }
    for batch in fuzz.iter_batches(files, batch_size):
        shutil.rmtree(watched, ignore_errors=True)
        paths = fuzz.write_batch(watched, batch)
        scan_problems = fuzz.check_scan(watched, paths)
        cycle_problems = fuzz.check_cycle(config, home, paths)
        figures["batches"] += 1
        figures["files"] += len(paths)
        figures["scan_failures"] += len(scan_problems)
        figures["cycle_failures"] += len(cycle_problems)
        for problem in [*scan_problems, *cycle_problems]:
            if len(figures["failure_samples"]) < 10:
                figures["failure_samples"].append(problem[:300])
        print(
            f"  batch {figures['batches']}: {len(paths)} files, "
            f"{len(scan_problems)} scan and {len(cycle_problems)} cycle problems",
            flush=True,
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    results: dict[str, Any] = {"seed": arguments.seed}
    with tempfile.TemporaryDirectory(prefix="watchman-faults-") as temporary:
        work = Path(temporary)
        if arguments.files:
            started = time.monotonic()
            files, read = fuzz_files(arguments.files, arguments.seed)
            read["seconds"] = round(time.monotonic() - started, 1)
            print(f"fuzzed in process: {json.dumps(read)[:600]}", flush=True)
            started = time.monotonic()
            through = batches_through_scan_and_cycles(files, arguments.batch, work / "fuzz")
            through["seconds"] = round(time.monotonic() - started, 1)
            results["fuzz"] = {"in_process": read, "scan_and_cycles": through}
            print(f"through scan --json and cycles: {json.dumps(through)[:600]}", flush=True)
        if arguments.kills:
            started = time.monotonic()
            kills = run_kill_harness(work / "kills", arguments.kills, arguments.seed)
            results["kills"] = {**kills.to_json(), "seconds": round(time.monotonic() - started)}
            print(f"SIGKILL harness: {json.dumps(results['kills'])}", flush=True)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    failed = (
        results.get("fuzz", {}).get("in_process", {}).get("crashes", 0)
        + results.get("fuzz", {}).get("scan_and_cycles", {}).get("scan_failures", 0)
        + results.get("fuzz", {}).get("scan_and_cycles", {}).get("cycle_failures", 0)
        + (kills.failures if arguments.kills else 0)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
