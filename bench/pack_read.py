"""Pack-read benchmark: what the first node inventory costs on real custom node packs,
against a floor of parsing the same files.

A node pack is read once, when it is new or changed (its signature), so this cost lands
on the first cycle of an install and after an update. The synthetic packs of
``bench/run.py`` are small and alike; real packs (Impact Pack, Easy-Use, WAS Node Suite,
LayerStyle...) hold large files with many node classes, and their first read costs far
more per pack. Point ``--custom-nodes`` at a folder of real packs (a ComfyUI install's
``custom_nodes``, or checkouts of your own); nothing in them is imported or run.

For each pack: the read as the inventory does it (``scan_pack``: every reading, from its
files' bytes to its ``NodePack``), and the floor: ``ast.parse`` of the same selected
Python files, nothing else. Both run ``--repeat`` times in turn, in one process; the
medians, their ratio, and the totals over all packs are printed and written to
``--output`` (default ``bench/results/pack_read_latest.json``). Timing figures are
ratios within the run, as the rest of ``bench/``.

Usage: ``python bench/pack_read.py --custom-nodes DIR [--repeat 3] [--output FILE]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from watchman.stages.inventory.node_scan import pack_python_files, scan_pack  # noqa: E402


def _parse_floor(files: list[Path]) -> float:
    """Seconds to parse ``files`` (each read first; an unparsable one counts as read)."""
    started = time.perf_counter()
    for path in files:
        try:
            ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            continue
    return time.perf_counter() - started


def _read(pack: Path) -> float:
    started = time.perf_counter()
    scan_pack(pack, enabled=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--custom-nodes", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, default=REPOSITORY / "bench" / "results" / "pack_read_latest.json"
    )
    options = parser.parse_args(argv)
    packs = sorted(p for p in options.custom_nodes.iterdir() if not p.name.startswith("."))
    rows = []
    for pack in packs:
        files = pack_python_files(pack)
        reads, floors = [], []
        for _ in range(options.repeat):
            floors.append(_parse_floor(files))
            reads.append(_read(pack))
        read, floor = statistics.median(reads), statistics.median(floors)
        rows.append(
            {
                "pack": pack.name,
                "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
                "read_seconds": round(read, 4),
                "parse_floor_seconds": round(floor, 4),
                "ratio": round(read / floor, 2) if floor > 0 else None,
            }
        )
        print(f"{pack.name:40} {len(files):5} files  read {read:7.3f} s  parse {floor:7.3f} s")
    total_read = sum(row["read_seconds"] for row in rows)
    total_floor = sum(row["parse_floor_seconds"] for row in rows)
    summary = {
        "packs": len(rows),
        "read_seconds": round(total_read, 3),
        "parse_floor_seconds": round(total_floor, 3),
        "ratio": round(total_read / total_floor, 2) if total_floor > 0 else None,
        "repeat": options.repeat,
        "rows": rows,
    }
    print(
        f"{len(rows)} packs: read {total_read:.2f} s, parse floor {total_floor:.2f} s, "
        f"ratio {summary['ratio']}"
    )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
