"""Download benchmark: the downloader against a raw stream of the same bytes, and the cost
of the broken-file check.

Throughput: one server on 127.0.0.1, in a process of its own, serves ``--megabytes`` of
random bytes. The floor is a raw read of the body over the tool's own HTTP client
(``new_client()``, ``iter_raw`` in 1 MiB chunks): bytes counted, nothing hashed or
written; a second, harder floor reads the pieces as they come (``iter_raw()``, no chunks
built) and is reported beside it (``raw_pieces``); a third reads the pieces and hashes each
with sha256 as it comes, nothing written (``raw_hashed``: the issue's "raw stream ...
hashing on" read as a floor that hashes too, so its ratio is what writing, resuming and
checking cost beyond receiving and hashing). The downloader fetches the same URL for
real: sha256 and size checked while streaming, written to a part file, fsynced and renamed
into place. Each side runs in a client process of its own (so none inherits another's
heap, which swayed the floor), warmed up once; then the parent asks them in turn,
``--repeat`` rounds (so a burst of load from other processes hits all alike). Reported for
each side: throughput best / median / worst, wall seconds and CPU seconds (user, kernel,
main thread, the other threads, the server process's from ``/proc``, Linux, in 10 ms
ticks) as min / median / max, and the cores the client kept busy; then the ratio of the
bests, the ratio of the medians and each pair's ratio (min / median / max), against the
target of 0.9. sha256 and write+fsync of the same bytes alone, the machine's load average
before and after and the scheduling policy are recorded too: ``chrt -f 10 python
bench/download_bench.py`` (root) runs the whole bench, server included, ahead of other
users' work, which stands in for a quiet machine on a shared one.

Broken-file check: a tree of ``--models`` small ``.safetensors`` files is scanned once
(``scan_models``); then ``check_model_health`` runs cold (every file new), then over the
same unchanged tree with the verdicts remembered (best of three, their state file parsed
included), then after ``--new`` files were added. For each it reports the files opened
and the bytes read (``/proc/self/io`` rchar, Linux), and the time as a ratio of the scan's
own walk.

Usage: ``python bench/download_bench.py [--megabytes 256] [--repeat 9] [--models 100000]
[--new 1000] [--folder DIR] [--only throughput|health]`` (``--quick``: 32 MB, 5,000 models,
200 new; ``--folder /dev/shm`` takes the disk out of the figure). Results go to
``bench/results/download_latest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from watchman.remote.download_task import DownloadLimits, DownloadTask  # noqa: E402
from watchman.remote.downloader import Downloader  # noqa: E402
from watchman.remote.gateway import HttpGateway  # noqa: E402
from watchman.remote.transport import new_client  # noqa: E402
from watchman.stages.inventory.model_health import check_model_health  # noqa: E402
from watchman.stages.inventory.model_scan import scan_models  # noqa: E402
from watchman.stages.inventory.model_verdicts import previous_verdicts  # noqa: E402

RESULTS = REPOSITORY / "bench" / "results" / "download_latest.json"
RAW_CHUNK_BYTES = 1 << 20
"""The raw read's chunk (``iter_raw``) and the write-alone chunk."""


def _server(blob: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(blob)))
            self.send_header("ETag", '"bench"')
            self.end_headers()
            view = memoryview(blob)
            step = 1 << 20
            for start in range(0, len(blob), step):
                self.wfile.write(view[start : start + step])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _serve_in_child(connection: Connection) -> None:
    """Serve the bytes the parent sends until it says stop (runs in a process of its own)."""
    server = _server(connection.recv_bytes())
    connection.send(server.server_address[1])
    connection.recv()
    server.shutdown()
    server.server_close()


class _ServerProcess:
    """:func:`_server` in a process of its own: a real server never shares the downloader's
    interpreter, and in the same process its thread would compete for the GIL with the
    client's reads and the downloader's writer thread."""

    def __init__(self, blob: bytes) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve_in_child, args=(child,), daemon=True)
        self.process.start()
        self.connection.send_bytes(blob)
        self.port: int = self.connection.recv()

    def close(self) -> None:
        self.connection.send(None)
        self.process.join(30)


def _safetensors(data_bytes: int) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + os.urandom(data_bytes)


def _timed(action: Any) -> tuple[float, float, float]:
    """Run ``action``; return its wall seconds and the CPU seconds this process (every
    thread) spent in user space and in the kernel."""
    wall, before = time.perf_counter(), os.times()
    action()
    after = os.times()
    return time.perf_counter() - wall, after.user - before.user, after.system - before.system


def _load() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + kernel, every thread) process ``pid`` has used (Linux: /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _client_main(connection: Connection, side: str, url: str, blob: Any, folder: str) -> None:
    """One side of the comparison in a process of its own (``raw`` or ``downloader``): runs
    once to warm up, then once per request from the parent, answering each with its wall
    seconds, this process's user and kernel CPU seconds, its main thread's CPU seconds and
    the whole process's.

    Each side has its own process so neither inherits the other's heap: the raw read's
    1 MiB chunks cost more or less (page faults) depending on what the process allocated
    before, which swayed the floor by up to 2x when both ran in one process.
    """
    size, digest = blob
    with new_client() as client:

        def raw() -> None:
            with client.stream("GET", url) as response:
                received = sum(len(chunk) for chunk in response.iter_raw(RAW_CHUNK_BYTES))
            assert received == size

        def raw_pieces() -> None:
            with client.stream("GET", url) as response:
                received = sum(len(piece) for piece in response.iter_raw())
            assert received == size

        def raw_hashed() -> None:
            hasher = hashlib.sha256()
            with client.stream("GET", url) as response:
                for piece in response.iter_raw():
                    hasher.update(piece)
            assert hasher.hexdigest() == digest

        target = Path(folder) / "model.safetensors"

        def download() -> None:
            limits = DownloadLimits(free_space_margin_bytes=0)
            result = Downloader(HttpGateway(client), limits).fetch(
                DownloadTask(url, Path(folder), "model.safetensors", size, digest)
            )
            assert result.outcome == "downloaded", result

        action = {
            "raw": raw, "raw_pieces": raw_pieces, "raw_hashed": raw_hashed, "downloader": download
        }[side]  # fmt: skip
        action()  # warm up: the connection, the page cache, the allocator
        connection.send("ready")
        while connection.recv():
            target.unlink(missing_ok=True)  # each run writes a new file, as a download does
            # os.times() counts in clock ticks (10 ms); these two in nanoseconds.
            thread_before, process_before = time.thread_time(), time.process_time()
            wall, user, kernel = _timed(action)
            main = time.thread_time() - thread_before
            connection.send((wall, user, kernel, main, time.process_time() - process_before))


class _ClientProcess:
    def __init__(self, side: str, url: str, size: int, digest: str, folder: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_client_main, args=(child, side, url, (size, digest), str(folder)), daemon=True
        )
        self.process.start()
        if self.connection.recv() != "ready":
            raise RuntimeError(f"the {side} client did not start")

    def run(self) -> tuple[float, float, float, float, float]:
        self.connection.send(True)
        answer: tuple[float, float, float, float, float] = self.connection.recv()
        return answer

    def close(self) -> None:
        self.connection.send(False)
        self.process.join(30)


def _spread(values: list[float], digits: int = 3) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": round(ordered[0], digits),
        "median": round(statistics.median(ordered), digits),
        "max": round(ordered[-1], digits),
    }


def _scheduling() -> str:
    """How this process is scheduled (a real-time policy stands in for a quiet machine)."""
    policy = getattr(os, "sched_getscheduler", None)
    if policy is None:
        return "unknown"
    names = {getattr(os, name, -1): name for name in ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR")}
    return f"{names.get(policy(0), policy(0))}, nice {os.nice(0)}"


def throughput(megabytes: int, repeat: int, folder: Path) -> dict[str, Any]:
    """The downloader against the raw stream, ``repeat`` alternated pairs; see the module."""
    blob = _safetensors(megabytes * 1_000_000)
    digest = hashlib.sha256(blob).hexdigest()
    server = _ServerProcess(blob)
    url = f"http://127.0.0.1:{server.port}/model.safetensors"
    load_before = _load()
    sides = ("raw", "downloader", "raw_pieces", "raw_hashed")
    runs: dict[str, list[tuple[float, float, float, float, float]]] = {side: [] for side in sides}
    server_cpu: dict[str, list[float]] = {side: [] for side in sides}
    clients: dict[str, _ClientProcess] = {}
    try:
        for side in runs:
            (folder / side).mkdir()
            clients[side] = _ClientProcess(side, url, len(blob), digest, folder / side)
        server_pid = server.process.pid or 0
        # Alternated, so a burst of load from other processes hits both alike.
        for _ in range(repeat):
            for side, client in clients.items():
                before = _process_cpu(server_pid)
                runs[side].append(client.run())
                after = _process_cpu(server_pid)
                if before is not None and after is not None:
                    server_cpu[side].append(after - before)
    finally:
        for client in clients.values():
            client.close()
        server.close()
    raw_walls = [run[0] for run in runs["raw"]]
    our_walls = [run[0] for run in runs["downloader"]]
    lean_walls = [run[0] for run in runs["raw_pieces"]]
    hashed_walls = [run[0] for run in runs["raw_hashed"]]
    # Each raw run against the downloader run right after it.
    paired = [raw / ours for raw, ours in zip(raw_walls, our_walls, strict=True)]

    def side_figures(side: str) -> dict[str, Any]:
        walls = [run[0] for run in runs[side]]
        process = [run[4] for run in runs[side]]
        return {
            "mb_per_second": {
                "best": round(len(blob) / min(walls) / 1e6, 1),
                "median": round(len(blob) / statistics.median(walls) / 1e6, 1),
                "worst": round(len(blob) / max(walls) / 1e6, 1),
            },
            "seconds": _spread(walls),
            "cpu_seconds": {
                "user": _spread([run[1] for run in runs[side]]),
                "kernel": _spread([run[2] for run in runs[side]]),
                "main_thread": _spread([run[3] for run in runs[side]]),
                "whole_process": _spread(process),
                "other_threads": _spread([max(run[4] - run[3], 0.0) for run in runs[side]]),
                "server": _spread(server_cpu[side]) if server_cpu[side] else None,
            },
            # CPU seconds per wall second: how many cores the client kept busy.
            "cores_used": round(statistics.median(process) / statistics.median(walls), 2),
        }

    # Where the downloader's extra time goes: the same bytes hashed, then written (page
    # cache) and fsynced, outside any stream.
    hash_seconds = _timed(lambda: hashlib.sha256(blob).hexdigest())[0]
    scratch = folder / "scratch"

    def write() -> None:
        with scratch.open("wb") as handle:
            view = memoryview(blob)
            for start in range(0, len(blob), RAW_CHUNK_BYTES):
                handle.write(view[start : start + RAW_CHUNK_BYTES])
            handle.flush()
            os.fsync(handle.fileno())

    write_seconds = _timed(write)[0]
    scratch.unlink()
    return {
        "bytes": len(blob),
        "pairs": repeat,
        "raw": side_figures("raw"),
        "downloader": side_figures("downloader"),
        "raw_pieces": side_figures("raw_pieces"),
        "raw_hashed": side_figures("raw_hashed"),
        "ratio_to_raw": round(min(raw_walls) / min(our_walls), 3),
        "ratio_of_medians": round(statistics.median(raw_walls) / statistics.median(our_walls), 3),
        "paired_ratio": _spread(paired),
        # Against the leanest read httpx offers (no 1 MiB chunks built): a harder floor.
        "ratio_of_medians_to_raw_pieces": round(
            statistics.median(lean_walls) / statistics.median(our_walls), 3
        ),
        # Against a floor that hashes as it reads: what the part file costs on top.
        "ratio_of_medians_to_raw_hashed": round(
            statistics.median(hashed_walls) / statistics.median(our_walls), 3
        ),
        "target": ">= 0.9",
        "downloader_buffer_bytes": DownloadLimits().buffer_bytes,
        "alone_seconds": {"sha256": round(hash_seconds, 3),
                          "write_and_fsync": round(write_seconds, 3)},
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": _load(),
                    "folder": str(folder), "scheduling": _scheduling()},
    }  # fmt: skip


def _read_bytes() -> int | None:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _measured(action: Any) -> tuple[Any, float, int | None]:
    before = _read_bytes()
    started = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - started
    after = _read_bytes()
    return value, seconds, (after - before) if before is not None and after is not None else None


def health(models: int, new: int, folder: Path) -> dict[str, Any]:
    root = folder / "ComfyUI"
    loras = root / "models" / "loras"
    for index in range(models):
        sub = loras / f"set{index % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"lora_{index:06d}.safetensors").write_bytes(_safetensors(64))
    inventory, walk_seconds, _ = _measured(lambda: scan_models(root, environ={}, home_dir=root))
    cold, cold_seconds, cold_bytes = _measured(lambda: check_model_health(inventory))
    state = orjson.dumps(cold.to_state_document())
    remembered = previous_verdicts(orjson.loads(state))
    # Unchanged: reading the remembered verdicts back is part of the cost.
    # Best of three: it is short, so one burst of load from elsewhere would dominate it.
    same, same_seconds, same_bytes = min(
        (
            _measured(lambda: check_model_health(inventory, previous_verdicts(orjson.loads(state))))
            for _ in range(3)
        ),
        key=lambda measured: measured[1],
    )
    for index in range(new):
        (loras / "new" / f"fresh_{index:05d}.safetensors").parent.mkdir(exist_ok=True)
        (loras / "new" / f"fresh_{index:05d}.safetensors").write_bytes(_safetensors(1 << 20))
    grown = scan_models(root, environ={}, home_dir=root)
    fresh, fresh_seconds, fresh_bytes = _measured(lambda: check_model_health(grown, remembered))
    return {
        "models": models,
        "walk_seconds": round(walk_seconds, 4),
        "cold": {"opened": cold.opened, "bytes_read": cold_bytes,
                 "ratio_to_walk": round(cold_seconds / walk_seconds, 3)},
        "unchanged": {"opened": same.opened, "bytes_read": same_bytes,
                      "ratio_to_walk": round(same_seconds / walk_seconds, 3)},
        "new_files": {"added": new, "opened": fresh.opened, "bytes_read": fresh_bytes,
                      "bytes_of_new_files": new * len(_safetensors(1 << 20)),
                      "ratio_to_walk": round(fresh_seconds / walk_seconds, 3)},
        "broken_found": len(fresh.broken),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=9, help="alternated pairs")
    parser.add_argument("--only", choices=("throughput", "health"), default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--folder",
        type=Path,
        default=None,
        help="where the files go (default: the temporary folder); /dev/shm leaves the disk out",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.megabytes, arguments.models, arguments.new = 32, 5_000, 200
    folder = Path(tempfile.mkdtemp(prefix="cw-download-bench-", dir=arguments.folder))
    try:
        results: dict[str, Any] = {}
        if arguments.only in (None, "throughput"):
            results["throughput"] = throughput(arguments.megabytes, arguments.repeat, folder)
        if arguments.only in (None, "health"):
            results["health"] = health(arguments.models, arguments.new, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
