"""The downloads stage: running the planned tasks logs each file fetched and stops when told."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer, safetensors_blob
from tests.stages.test_download_plan import TOKENS, found, key, keyed, roots
from watchman.remote.download_task import DownloadLimits
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway
from watchman.stages.download_plan import Wanted, build_plan
from watchman.stages.downloads import run_downloads
from watchman.state.download_log import log_path, read_downloads


def test_running_tasks_logs_each_file_fetched_and_stops_when_told(tmp_path: Path) -> None:
    blob = safetensors_blob(10_000)
    with BlobServer(blob) as server, httpx.Client() as client:
        wanted = [
            Wanted(key("loras:a.safetensors"), "loras", "a.safetensors", ("w1.json",)),
            Wanted(key("loras:b.safetensors"), "loras", "b.safetensors", ("w2.json",)),
        ]
        resolutions = {
            w.key.text: found(f"{server.url}/{w.value}?sig=SECRET", w.value, size=len(blob),
                         sha256=hashlib.sha256(blob).hexdigest())
            for w in wanted
        }  # fmt: skip
        plan = build_plan(wanted, keyed(resolutions), roots(tmp_path), TOKENS)
        downloader = Downloader(
            HttpGateway(client), DownloadLimits(free_space_margin_bytes=0),
            free_space=lambda folder: 1 << 40,
        )  # fmt: skip
        answers = iter([None, "the awake guard says no"])
        run = run_downloads(
            plan.tasks, downloader, log_path(tmp_path / "state"), lambda: "2026-01-01T00:00:00Z",
            trigger="auto", may_start=lambda: next(answers),
        )  # fmt: skip
    assert [r.outcome for _, r in run.results] == ["downloaded"]
    assert [t.name for t in run.not_started] == ["loras/b.safetensors"]
    assert run.stopped_because == "the awake guard says no"
    (record,) = read_downloads(log_path(tmp_path / "state"))
    assert record.workflows == ("w1.json",) and record.trigger == "auto"
    assert record.size == len(blob) and "SECRET" not in record.url
    assert list(read_downloads(log_path(tmp_path / "state"), since="2026-01-02")) == []


def test_a_download_log_line_of_another_shape_is_skipped_not_a_failure(tmp_path: Path) -> None:
    log = log_path(tmp_path)
    log.write_text(
        '{"schema_version": 1, "time": "2026-01-01T00:00:00Z", "name": "x", "size": "big"}\n'
        '{"schema_version": 1, "time": "2026-01-02T00:00:00Z", "name": "loras/y.safetensors",'
        ' "url": "https://h/y", "source": null, "target": "/m/y.safetensors", "size": 3,'
        ' "sha256": "ab", "workflows": ["w.json"], "trigger": "auto", "replaced": null}\n',
        encoding="utf-8",
    )
    (record,) = read_downloads(log)
    assert (record.name, record.size, record.workflows) == ("loras/y.safetensors", 3, ("w.json",))
