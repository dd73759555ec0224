"""Two processes on one file, and SIGTERM mid-download then resume, with real processes."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.remote.download_task import DownloadLimits, DownloadTask
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway
from watchman.remote.part_file import PARTIAL_SUFFIX

BLOB = safetensors_blob(2_000_000)
SHA = hashlib.sha256(BLOB).hexdigest()
PROJECT = Path(__file__).resolve().parents[2]


def child(server: BlobServer, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.remote.download_child", f"{server.url}/m",
         str(root), "m.safetensors", str(len(BLOB)), SHA],
        cwd=PROJECT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def last_json(output: str) -> dict[str, object]:
    return json.loads(output.strip().splitlines()[-1])


def test_sigterm_mid_download_keeps_a_part_that_the_next_run_resumes(tmp_path: Path) -> None:
    gate = threading.Event()
    with BlobServer(BLOB, gate=gate) as server:
        process = child(server, tmp_path)
        assert process.stdout is not None
        assert process.stdout.readline().startswith("progress")
        process.send_signal(signal.SIGTERM)
        gate.set()
        output, _ = process.communicate(timeout=60)
        stopped = last_json(output)
        assert stopped["outcome"] == "interrupted"
        assert not (tmp_path / "m.safetensors").exists()
        part = tmp_path / ("m.safetensors" + PARTIAL_SUFFIX)
        assert 0 < part.stat().st_size < len(BLOB)
        server.gate = None
        with httpx.Client() as client:
            limits = DownloadLimits(free_space_margin_bytes=0, resume_wait_seconds=0)
            result = Downloader(HttpGateway(client), limits).fetch(
                DownloadTask(f"{server.url}/m", tmp_path, "m.safetensors", len(BLOB), SHA)
            )
        assert server.requests[-1]["headers"]["Range"] == f"bytes={stopped['size']}-"
    assert result.outcome == "downloaded" and result.resumed_from == stopped["size"]
    assert (tmp_path / "m.safetensors").read_bytes() == BLOB


def test_two_processes_on_one_file_never_both_write_it(tmp_path: Path) -> None:
    gate = threading.Event()
    with BlobServer(BLOB, gate=gate) as server:
        first = child(server, tmp_path)
        assert first.stdout is not None
        assert first.stdout.readline().startswith("progress")  # the first holds the lock
        second = child(server, tmp_path)
        second_output, _ = second.communicate(timeout=60)
        gate.set()  # only now may the first go on
        first_output, _ = first.communicate(timeout=120)
    assert last_json(second_output)["reason"] == "busy"
    assert last_json(first_output)["outcome"] == "downloaded"
    assert (tmp_path / "m.safetensors").read_bytes() == BLOB
