"""A separate process that downloads one file, for the two-process and SIGTERM tests.

Usage: ``python -m tests.remote.download_child URL ROOT NAME SIZE SHA256``. SIGTERM sets the
stop event, as the CLI's handler does; a line ``progress N`` is printed once N bytes are on
disk past the first 64 KiB, and the result is printed as JSON on the last line.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from watchman.remote.download_task import DownloadLimits, DownloadTask, Progress
from watchman.remote.downloader import Downloader
from watchman.remote.gateway import HttpGateway
from watchman.remote.transport import new_client


def main(url: str, root: str, name: str, size: str, sha256: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stop.set())
    told = False

    def show(progress: Progress) -> None:
        nonlocal told
        if not told and progress.done >= 64 << 10:
            told = True
            print(f"progress {progress.done}", flush=True)

    with new_client() as client:
        gateway = HttpGateway(client, stop_event=stop)
        limits = DownloadLimits(free_space_margin_bytes=0, resume_wait_seconds=0)
        downloader = Downloader(gateway, limits, on_progress=show)
        result = downloader.fetch(DownloadTask(url, Path(root), name, int(size), sha256))
    print(json.dumps({"outcome": result.outcome, "reason": result.reason, "size": result.size}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
