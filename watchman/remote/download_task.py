"""What a download is asked for (``DownloadTask``), how it may use the machine
(``DownloadLimits``), how far it is (``Progress``) and what became of it
(``DownloadResult``); and the three ways one attempt ends short of a whole file
(``Stopped``, ``Cut``, ``Restart``), which the downloader turns into a result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["downloaded", "present", "failed", "interrupted", "paused"]


@dataclass(frozen=True)
class DownloadTask:
    """One file to fetch: ``url``; the folder it belongs in (``root``) and its path there
    (``relative``, posix, as the workflow names it); the size and sha256 to verify, when
    known; ``replace`` a file already under the name (one found broken)."""

    url: str
    root: Path
    relative: str
    size: int | None = None
    sha256: str | None = None
    replace: bool = False


@dataclass(frozen=True)
class DownloadLimits:
    """How a download may use the machine and the network."""

    chunk_bytes: int = 256 << 10  # progress is reported every this many bytes
    buffer_bytes: int = 2 << 20  # each of the writer thread's three buffers
    free_space_margin_bytes: int = 512 << 20
    bandwidth_bytes_per_second: float | None = None
    max_resumes: int = 5
    resume_wait_seconds: float = 2.0
    connect_timeout_seconds: float = 20.0
    read_timeout_seconds: float = 60.0
    attempt_deadline_seconds: float = 12 * 3600.0
    max_file_bytes: int = 512 << 30


@dataclass(frozen=True)
class Progress:
    """Where one download is: bytes on disk, the total when known, bytes this run."""

    target: Path
    done: int
    total: int | None
    fetched: int
    finished: bool = False


@dataclass(frozen=True)
class DownloadResult:
    """What became of one task. ``reason`` is a :class:`DownloadError` code for ``failed``,
    ``interrupted`` (a stop) or ``byte_budget`` (``paused``); ``detail`` a sentence."""

    url: str
    target: Path
    outcome: Outcome
    reason: str | None = None
    detail: str | None = None
    size: int | None = None
    sha256: str | None = None
    fetched_bytes: int = 0
    resumed_from: int = 0


class Stopped(Exception):
    """A stop or the byte budget ended the stream; the part is kept."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class Cut(Exception):
    """The connection broke mid-body; worth resuming."""


class Restart(Exception):
    """The part on disk cannot be continued (Range ignored, file changed): start over."""
