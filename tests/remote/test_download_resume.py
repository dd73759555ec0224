"""Resuming a download over real HTTP on 127.0.0.1: a cut connection continued with
``Range`` in the same run or a later one, a server that ignores ``Range`` or whose file
changed started over, a stop that keeps the part."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer, safetensors_blob
from tests.remote.downloads import BLOB, FAST, PLENTY, SHA, downloader, leftovers, task
from watchman.remote.download_task import DownloadLimits
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway
from watchman.remote.part_file import META_SUFFIX, PARTIAL_SUFFIX


def test_a_cut_connection_is_resumed_with_range_in_the_same_run(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, cut_after=200_000, cuts_left=2) as server:
        result = downloader(client).fetch(task(server, tmp_path))
        ranges = [r["headers"].get("Range") for r in server.requests]
    assert result.outcome == "downloaded" and result.sha256 == SHA
    # The part keeps every byte that came in whole chunks; the rest is asked for.
    assert ranges[0] is None and len(ranges) == 3
    starts = [int(r.removeprefix("bytes=").rstrip("-")) for r in ranges[1:]]
    assert 0 < starts[0] <= 200_000 < starts[1] <= 400_000
    assert result.fetched_bytes == len(BLOB)  # nothing written twice


def test_a_part_left_by_an_earlier_run_is_resumed_and_only_the_rest_is_fetched(
    tmp_path: Path, client: httpx.Client
) -> None:
    first = DownloadLimits(**{**FAST.__dict__, "max_resumes": 0})
    with BlobServer(BLOB, cut_after=250_000, cuts_left=1) as server:
        gateway = HttpGateway(client)
        cut = Downloader(gateway, first, free_space=lambda folder: PLENTY).fetch(
            task(server, tmp_path)
        )
        assert cut.outcome == "failed" and cut.reason == "truncated"
        assert not (tmp_path / "lora.safetensors").exists()
        kept = (tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)).stat().st_size
        assert 0 < kept <= 250_000  # the whole chunks that came before the cut
        assert (tmp_path / ("lora.safetensors" + META_SUFFIX)).is_file()
        # A new process: new downloader, no memory but the part and its description.
        again = downloader(client).fetch(task(server, tmp_path))
        last = server.requests[-1]["headers"]
    assert again.outcome == "downloaded" and again.sha256 == SHA
    assert again.resumed_from == kept and again.fetched_bytes == len(BLOB) - kept
    assert last["Range"] == f"bytes={kept}-" and last["If-Range"] == '"v1"'
    assert leftovers(tmp_path) == ["lora.safetensors"]


def test_a_server_that_ignores_range_makes_the_download_start_over_cleanly(
    tmp_path: Path, client: httpx.Client
) -> None:
    with BlobServer(BLOB, ranges=False, cut_after=300_000, cuts_left=1) as server:
        result = downloader(client).fetch(task(server, tmp_path))
    assert result.outcome == "downloaded" and result.sha256 == SHA
    assert result.resumed_from == 0
    assert (tmp_path / "lora.safetensors").read_bytes() == BLOB


def test_a_file_changed_on_the_server_between_attempts_is_fetched_whole_again(
    tmp_path: Path, client: httpx.Client
) -> None:
    new_blob = safetensors_blob(600_000, seed=99)
    first = DownloadLimits(**{**FAST.__dict__, "max_resumes": 0})
    with BlobServer(BLOB, cut_after=250_000, cuts_left=1) as server:
        Downloader(HttpGateway(client), first, free_space=lambda folder: PLENTY).fetch(
            task(server, tmp_path, sha256=None, size=None)
        )
        server.blob, server.etag = new_blob, '"v2"'
        result = downloader(client).fetch(task(server, tmp_path, sha256=None, size=None))
    assert result.outcome == "downloaded"
    assert (tmp_path / "lora.safetensors").read_bytes() == new_blob
    assert result.sha256 == hashlib.sha256(new_blob).hexdigest()


def test_a_stop_keeps_the_part_and_the_next_run_resumes_it(
    tmp_path: Path, client: httpx.Client
) -> None:
    stop = threading.Event()

    def stop_after_some(progress: object) -> None:
        if getattr(progress, "done", 0) >= 128 << 10:
            stop.set()

    with BlobServer(BLOB) as server:
        first = downloader(client, stop=stop, on_progress=stop_after_some).fetch(
            task(server, tmp_path)
        )
        assert first.outcome == "interrupted"
        assert not (tmp_path / "lora.safetensors").exists()
        second = downloader(client).fetch(task(server, tmp_path))
    assert second.outcome == "downloaded" and second.sha256 == SHA
    assert second.resumed_from == first.size


def test_a_stop_while_a_resumed_part_is_hashed_keeps_it_and_asks_the_server_nothing(
    tmp_path: Path, client: httpx.Client
) -> None:
    part = tmp_path / ("lora.safetensors" + PARTIAL_SUFFIX)
    with BlobServer(BLOB) as server:
        paused = downloader(client, byte_budget=300_000).fetch(task(server, tmp_path))
        kept = part.read_bytes()
        asked = len(server.requests)
        stop = threading.Event()
        stop.set()
        stopped = downloader(client, stop=stop).fetch(task(server, tmp_path))
        assert len(server.requests) == asked
        done = downloader(client).fetch(task(server, tmp_path))
    assert paused.outcome == "paused" and len(kept) == paused.size
    assert (stopped.outcome, stopped.reason) == ("interrupted", "interrupted")
    assert "part on disk was being checked" in (stopped.detail or "")
    assert done.outcome == "downloaded" and done.resumed_from == len(kept)
    assert done.sha256 == SHA
