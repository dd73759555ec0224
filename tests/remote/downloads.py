"""What the downloader tests share: a small safetensors blob, fast limits, and a downloader
over the test's client (the ``client`` fixture comes from ``conftest.py``)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx

from tests.remote.blob_server import BlobServer, safetensors_blob
from watchman.remote.download_task import DownloadLimits, DownloadTask
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway

BLOB = safetensors_blob(600_000)
SHA = hashlib.sha256(BLOB).hexdigest()
# Small write buffers, so each download here goes through several hand-offs to the writer.
FAST = DownloadLimits(
    chunk_bytes=64 << 10,
    buffer_bytes=48 << 10,
    free_space_margin_bytes=1 << 20,
    resume_wait_seconds=0,
)
PLENTY = 1 << 40


def downloader(
    client: httpx.Client,
    credentials: dict[str, dict[str, str]] | None = None,
    *,
    free: int = PLENTY,
    stop: threading.Event | None = None,
    **kwargs: object,
) -> Downloader:
    gateway = HttpGateway(client, credentials=credentials or {}, stop_event=stop)
    return Downloader(gateway, FAST, free_space=lambda folder: free, **kwargs)  # type: ignore[arg-type]


def task(
    server: BlobServer, root: Path, name: str = "lora.safetensors", **kw: object
) -> DownloadTask:
    values: dict[str, object] = {"size": len(BLOB), "sha256": SHA, **kw}
    return DownloadTask(f"{server.url}/file", root, name, **values)  # type: ignore[arg-type]


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())
