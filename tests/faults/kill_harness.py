"""The SIGKILL harness: real ``--run-cycle`` processes killed at random moments over a
tree that changes between runs, and the checks that state survives.

Each round edits the watched tree (new workflows, rewritten ones, deletions, an edit that
restores size and mtime like ``cp -p``), starts ``python -m watchman --run-cycle`` and sends
SIGKILL after a random delay drawn over a whole cycle's duration. After every kill, each
JSON state file must parse (and none may have been set aside as corrupt), and once the
report folder is recovered as the next start would, the two reports must be of one
cycle. Every
``check_every`` kills, and at the end, one cycle runs to completion; then no temporary
file may be left under the home, the JSON and Markdown reports must be of that cycle,
and the intake log must hold every workflow version present (none lost) and never the
same version twice in a row for a path (none duplicated).

Run long with ``make faults`` (tests/faults/run_faults.py); the test suite runs a short one.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from tests.faults import fuzz
from watchman.state.file_sets import recover_file_sets
from watchman.state.json_codec import loads_json

TEMP_PATTERNS = (
    re.compile(r"^\..+\.\d+-[a-z0-9_]{8}\.tmp$"),
    re.compile(r"^\..+\.set-[A-Za-z0-9_-]+\.tmp$"),
    re.compile(r"^\.set-[A-Za-z0-9_-]+\.commit$"),
    re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}$"),
)


@dataclass
class KillFigures:
    """What one harness run did and found."""

    kills: int = 0
    finished_before_kill: int = 0
    clean_cycles: int = 0
    state_checks: int = 0
    unreadable_state_files: int = 0
    set_aside_state_files: int = 0
    lost_intake_events: int = 0
    duplicated_intake_events: int = 0
    intake_lines: int = 0
    temp_files_left: int = 0
    reports_mixed: int = 0
    report_checks: int = 0
    clean_cycle_failures: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "problems"} | {
            "problems": self.problems[:20]
        }

    @property
    def failures(self) -> int:
        return (
            self.unreadable_state_files
            + self.set_aside_state_files
            + self.lost_intake_events
            + self.duplicated_intake_events
            + self.temp_files_left
            + self.reports_mixed
            + self.clean_cycle_failures
        )


class ChangingTree:
    """The watched folder the harness edits between runs."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng
        self.seeds = [doc for _, doc in fuzz.seed_documents()[:12]] or [{"nodes": []}]
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def _content(self) -> bytes:
        document = dict(self.rng.choice(self.seeds))
        document["extra"] = {"revision": self.rng.getrandbits(64), "pad": "x" * 2000}
        return json.dumps(document).encode()

    def add(self) -> None:
        self.count += 1
        (self.folder / f"w{self.count:05d}.json").write_bytes(self._content())

    def change(self) -> None:
        files = sorted(self.folder.glob("*.json"))
        if not files:
            return self.add()
        target = self.rng.choice(files)
        action = self.rng.choice(["rewrite", "delete", "same-size-same-mtime", "add"])
        if action == "rewrite":
            target.write_bytes(self._content())
        elif action == "delete":
            target.unlink()
        elif action == "same-size-same-mtime":
            stat = target.stat()
            data = bytearray(target.read_bytes())
            digits = [i for i, byte in enumerate(data) if 48 <= byte <= 57]
            if digits:
                position = self.rng.choice(digits)
                data[position] = 48 + (data[position] - 48 + 1) % 10
            target.write_bytes(bytes(data))
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        else:
            self.add()
        return None

    def versions(self) -> dict[str, str]:
        """Path -> sha256 of every workflow the harness's folder holds now."""
        return {
            str(path): sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.folder.glob("*.json"))
        }


def _cycle(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "watchman", "--config", str(config), "--run-cycle"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=fuzz.REPO,
        env={**fuzz._clean_environment(), "PYTHONPATH": str(fuzz.REPO)},
    )


def check_state(home: Path, figures: KillFigures) -> None:
    """Every JSON state file parses; none was set aside as corrupt."""
    figures.state_checks += 1
    state = home / "state"
    for path in state.glob("*.json"):
        try:
            document = loads_json(path.read_bytes())
        except (OSError, ValueError) as error:
            figures.unreadable_state_files += 1
            figures.problems.append(f"{path.name} unreadable: {error}")
            continue
        if not isinstance(document, dict):
            figures.unreadable_state_files += 1
            figures.problems.append(f"{path.name} is not an object")
    cache = state / "workflow_cache.jsonl"
    if cache.exists():
        # One line per workflow: every line whole (a header, then path TAB record).
        try:
            lines = cache.read_bytes().splitlines()
            loads_json(lines[0])
            for line in lines[1:]:
                key, _, record = line.partition(b"\t")
                loads_json(key), loads_json(record)
        except (OSError, ValueError, IndexError) as error:
            figures.unreadable_state_files += 1
            figures.problems.append(f"{cache.name} unreadable: {error}")
    corrupt = [path.name for path in state.glob("*.corrupt-*")]
    if corrupt:
        figures.set_aside_state_files += len(corrupt)
        figures.problems.append(f"set aside as corrupt: {corrupt}")
        for name in corrupt:
            (state / name).unlink()


def check_reports_after_recovery(home: Path, figures: KillFigures) -> None:
    """Do what the next start does to the report folder, then the two reports must be of
    one cycle (a kill between writing them must not leave a mixed pair behind)."""
    status = home / "output" / "reports" / "status"
    recover_file_sets(status)
    try:
        report = json.loads((status / "master_status.json").read_bytes())
        markdown = (status / "master_status.md").read_text("utf-8")
    except FileNotFoundError:
        return  # no report yet: killed before the first one was written
    figures.report_checks += 1
    if f"(cycle {report['cycle_id']})" not in markdown:
        figures.reports_mixed += 1
        figures.problems.append("after a kill and recovery, the reports are of two cycles")


def temp_files(home: Path) -> list[Path]:
    found = []
    for folder, _, names in os.walk(home):
        for name in names:
            for pattern in TEMP_PATTERNS:
                match = pattern.match(name)
                if match and ("target" not in pattern.groupindex or match["target"] in names):
                    found.append(Path(folder) / name)
                    break
    return found


def check_after_clean_cycle(home: Path, tree: ChangingTree, figures: KillFigures) -> None:
    """No temp file left, the reports of one cycle, no intake event lost or duplicated."""
    left = temp_files(home)
    figures.temp_files_left += len(left)
    figures.problems.extend(f"temp file left: {path.name}" for path in left)
    status = home / "output" / "reports" / "status"
    report = json.loads((status / "master_status.json").read_bytes())
    if f"(cycle {report['cycle_id']})" not in (status / "master_status.md").read_text("utf-8"):
        figures.reports_mixed += 1
        figures.problems.append("the two reports are of different cycles")
    lines = []
    for raw in (home / "state" / "intake_log.jsonl").read_bytes().splitlines():
        try:
            record = loads_json(raw)
        except ValueError:
            continue  # a line torn by a kill: never acknowledged, so it is logged again
        if isinstance(record, dict):
            lines.append(record)
    figures.intake_lines = len(lines)
    last: dict[str, str] = {}
    duplicated = 0
    for record in lines:
        if last.get(record["path"]) == record["sha256"]:
            duplicated += 1
        last[record["path"]] = record["sha256"]
    figures.duplicated_intake_events = duplicated
    lost = [path for path, digest in tree.versions().items() if last.get(path) != digest]
    figures.lost_intake_events += len(lost)
    figures.problems.extend(f"intake lost: {Path(path).name}" for path in lost)


def run_kill_harness(
    work: Path, kills: int, seed: int = 0, check_every: int = 10, files: int = 150
) -> KillFigures:
    """Kill ``kills`` cycles at random moments in a tree under ``work``; return figures."""
    rng = random.Random(seed)
    changing = work / "changing"
    tree = ChangingTree(changing, rng)
    for _ in range(files):
        tree.add()
    config, home = fuzz.cycle_setup(work / "tree", changing)
    figures = KillFigures()
    started = time.monotonic()
    if _cycle(config).wait() != 0:
        figures.clean_cycle_failures += 1
    duration = time.monotonic() - started
    since_check = 0
    while figures.kills < kills:
        for _ in range(rng.randint(1, 5)):
            tree.change()
        process = _cycle(config)
        try:
            process.wait(timeout=rng.uniform(0, duration * 1.1))
            figures.finished_before_kill += 1
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            figures.kills += 1
            since_check += 1
        check_state(home, figures)
        check_reports_after_recovery(home, figures)
        if since_check >= check_every or figures.kills >= kills:
            since_check = 0
            clean = _cycle(config)
            _, stderr = clean.communicate()
            figures.clean_cycles += 1
            if clean.returncode != 0:
                figures.clean_cycle_failures += 1
                figures.problems.append(f"clean cycle exited {clean.returncode}: {stderr[-300:]!r}")
                continue
            check_state(home, figures)
            check_after_clean_cycle(home, tree, figures)
    return figures
