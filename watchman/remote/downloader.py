"""The downloader: one model file, streamed, resumed, verified, then renamed into place.

A download writes ``<name>.cwpart`` beside the target, with ``<name>.cwpart.json`` saying
what it is a part of (URL, the server's ETag / Last-Modified, the total size). After a cut
connection it asks for the rest with ``Range`` and ``If-Range``, in the same run or in a
later one; a server that ignores ``Range``, or a file that changed on the server (another
ETag, Last-Modified or size), starts the part over from zero. The sha256 and the size are
computed while the bytes stream; within one run the hash state lives on across resumes, and
a later run hashes the part already on disk once before asking for the rest (Python cannot
save a hash state to disk). Only a file whose size and sha256 match what the plan expected,
and whose first bytes are not an HTML page or a JSON error (a ``.safetensors`` header is
checked too), is renamed onto the final name, atomically; nothing else ever appears under
that name.

Before any byte is written the free space must hold the rest of the file plus a margin.
Plain ``http:`` is refused except to loopback. Tokens come from the gateway's credentials,
keyed by origin: redirects are followed here, hop by hop, and each hop gets only its own
origin's headers, so a signed CDN redirect is fetched without the Civitai or Hugging Face
token. A per-file lock keeps two processes off one file. A stop event (SIGTERM) ends the
stream at the next chunk and keeps the part for the next run; a byte budget does the same.

Every request goes through the gateway's ``stream`` call: its per-host limits, retries of
429 and 5xx, redirects with per-origin credentials, a stop that wakes a blocked read, the
redaction of tokens. Each attempt has a deadline (``attempt_deadline_seconds``) and a size
cap (the bytes still expected); a silence longer than the read timeout is a cut connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from filelock import FileLock, Timeout

from watchman.comfy.model_file_check import (
    SNIFF_BYTES,
    check_model_file,
    sniff_text_body,
)
from watchman.errors import BackendError, DownloadError
from watchman.remote.download_safety import check_url, safe_target
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import RequestInterruptedError, ResponseTooLargeError
from watchman.remote.part_file import (
    META_SCHEMA_VERSION,
    META_SUFFIX,
    PARTIAL_SUFFIX,
    PartFile,
    PartWriter,
    open_part_at,
)
from watchman.remote.response_bodies import StreamedResponse
from watchman.state.safe_files import fsync_folder

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".cwlock"
_SLACK_BYTES = 1 << 20
"""Read past the expected end (a server sending too much is caught by the size check)."""
_REHASH_BYTES = 1 << 20
"""The buffer a resumed part is hashed through (see ``Downloader._rehash``)."""
_LOGIN_WORDS = (b"log in", b"login", b"sign in", b"signin", b"unauthorized", b"token")

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


class _Stopped(Exception):
    """A stop or the byte budget ended the stream; the part is kept."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class _Cut(Exception):
    """The connection broke mid-body; worth resuming."""


class _Restart(Exception):
    """The part on disk cannot be continued (Range ignored, file changed): start over."""


def default_free_space(folder: Path) -> int:
    """Return the bytes free for this user in ``folder``'s file system."""
    return shutil.disk_usage(folder).free


class Downloader:
    """Fetches :class:`DownloadTask` s through the gateway's client and credentials.

    ``free_space`` and ``sleep`` are injectable (tests); ``on_progress`` hears about each
    chunk. ``byte_budget`` bounds the bytes fetched by this downloader over all tasks
    (None: no bound).
    """

    def __init__(
        self,
        gateway: HttpGateway,
        limits: DownloadLimits | None = None,
        *,
        free_space: Callable[[Path], int] = default_free_space,
        byte_budget: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.limits = limits or DownloadLimits()
        self.free_space = free_space
        self.budget_left = byte_budget
        self.on_progress = on_progress
        self.clock = clock
        self.stop_event = gateway.stop_event or threading.Event()

    def fetch(self, task: DownloadTask) -> DownloadResult:
        """Download one task; never raises for the task's own failure.

        Returns:
            ``downloaded`` (verified and in place), ``present`` (a file already bears the
            name and ``replace`` is off), ``failed`` with a reason, ``interrupted`` (a
            stop; the part is kept for next time) or ``paused`` (the byte budget).
        """
        target = task.root / task.relative
        try:
            target = safe_target(task.root, task.relative)
            check_url(httpx.URL(task.url))
            target.parent.mkdir(parents=True, exist_ok=True)
            return self._fetch_locked(task, target)
        except DownloadError as error:
            logger.warning("Download of %s failed: %s", task.relative, error)
            return DownloadResult(task.url, target, "failed", error.reason, str(error))
        except OSError as error:
            logger.warning("Download of %s failed: %s", task.relative, error)
            return DownloadResult(
                task.url, target, "failed", "io_error", f"{target}: {error.strerror or error}."
            )

    def _fetch_locked(self, task: DownloadTask, target: Path) -> DownloadResult:
        lock_path = target.with_name(target.name + LOCK_SUFFIX)
        lock = FileLock(str(lock_path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise DownloadError(
                f"Another process is downloading {target.name}; try again when it is done.",
                "busy",
            ) from None
        try:
            if target.exists() and not task.replace:
                return DownloadResult(task.url, target, "present", size=target.stat().st_size)
            result = self._download(task, target)
            if result.outcome == "downloaded":
                # Safe to remove while held: a waiter that then locks the old file finds
                # the target in place and does nothing.
                with contextlib.suppress(OSError):
                    lock_path.unlink()
            return result
        finally:
            lock.release()

    def _open_part(self, task: DownloadTask, target: Path) -> PartFile:
        part = PartFile(
            path=target.with_name(target.name + PARTIAL_SUFFIX),
            meta_path=target.with_name(target.name + META_SUFFIX),
            url=task.url,
        )
        meta: Any = None
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            meta = orjson.loads(part.meta_path.read_bytes())
        usable = (
            isinstance(meta, dict)
            and meta.get("schema_version") == META_SCHEMA_VERSION
            and meta.get("url") == task.url
            and part.path.is_file()
            and (meta.get("etag") or meta.get("last_modified"))
        )
        if not usable:
            part.discard()
            return part
        part.etag = meta.get("etag")
        part.last_modified = meta.get("last_modified")
        total = meta.get("total")
        part.total = total if isinstance(total, int) else None
        self._rehash(part)
        if part.total is not None and part.offset > part.total:
            part.reset()
        part.resumed_from = part.offset
        logger.info("Resuming %s at byte %d", target.name, part.offset)
        return part

    def _rehash(self, part: PartFile) -> None:
        """Hash the part an earlier run left, once, front to back, into ``part``.

        hashlib cannot save a sha256 state to disk, so across runs this is the one second
        read of any byte (within a run the state lives on across resumes). Memory stays
        bounded: one reused buffer, no copies. A stop ends it at the next buffer; the part
        is untouched and the next run starts the hash again.

        Raises:
            _Stopped: a stop came. OSError: the part cannot be read.
        """
        buffer = bytearray(_REHASH_BYTES)
        view = memoryview(buffer)
        with part.path.open("rb", buffering=0) as handle:
            advise = getattr(os, "posix_fadvise", None)
            if advise is not None:
                with contextlib.suppress(OSError):
                    advise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while count := handle.readinto(buffer):
                if self.stop_event.is_set():
                    raise _Stopped("interrupted", "interrupted")
                part.hasher.update(view[:count])
                part.offset += count

    def _download(self, task: DownloadTask, target: Path) -> DownloadResult:
        try:
            part = self._open_part(task, target)
        except _Stopped as stop:
            return DownloadResult(
                task.url, target, stop.outcome, stop.reason,
                "A stop came while the part on disk was being checked; the next run resumes it.",
            )  # fmt: skip
        cuts = restarts = 0

        def result(outcome: Outcome, reason: str, detail: str) -> DownloadResult:
            return DownloadResult(
                task.url, target, outcome, reason, detail, part.offset, None, part.fetched,
                part.resumed_from,
            )  # fmt: skip

        while True:
            try:
                self._attempt(task, target, part)
                break
            except _Stopped as stop:
                return result(stop.outcome, stop.reason, _stop_detail(stop.reason, part.offset))
            except _Restart as why:
                restarts += 1
                if restarts > 2:
                    part.discard()
                    return result(
                        "failed", "http_error", f"The server's answers do not add up: {why}."
                    )
                logger.info("Restarting %s from zero: %s", target.name, why)
                part.reset()
            except _Cut as cut:
                cuts += 1
                if cuts > self.limits.max_resumes:
                    return result(
                        "failed",
                        "truncated",
                        f"The connection broke {cuts} times ({cut}); the {part.offset} bytes "
                        "fetched are kept and the next run resumes.",
                    )
                logger.info(
                    "Connection to %s cut at byte %d (%s); resuming.",
                    _safe_url(task.url), part.offset, cut,
                )  # fmt: skip
                if self.stop_event.wait(self.limits.resume_wait_seconds * cuts):
                    return result(
                        "interrupted", "interrupted", _stop_detail("interrupted", part.offset)
                    )
            except DownloadError as error:
                if error.reason in ("not_a_model", "auth_required", "size_mismatch", "not_found"):
                    part.discard()
                raise
        return self._finish(task, target, part)

    def _finish(self, task: DownloadTask, target: Path, part: PartFile) -> DownloadResult:
        digest = part.hasher.hexdigest()
        failure: DownloadError | None = None
        if task.size is not None and part.offset != task.size:
            failure = DownloadError(
                f"{target.name} is {part.offset} bytes, not the {task.size} expected; "
                "it was not kept.",
                "size_mismatch",
            )
        elif task.sha256 and digest != task.sha256.lower():
            failure = DownloadError(
                f"{target.name} has sha256 {digest}, not the {task.sha256.lower()} expected; "
                "it was not kept.",
                "hash_mismatch",
            )
        else:
            problem = check_model_file(part.path, part.offset, name=target.name)
            if problem is not None:
                failure = DownloadError(
                    f"{target.name} is not a model: {problem.detail}; it was not kept.",
                    "not_a_model",
                )
        if failure is not None:
            part.discard()
            raise failure
        with part.path.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(part.path, target)
        fsync_folder(target.parent)
        with contextlib.suppress(FileNotFoundError):
            part.meta_path.unlink()
        self._report(Progress(target, part.offset, part.offset, part.fetched, finished=True))
        logger.info("Downloaded %s (%d bytes, sha256 %s)", target, part.offset, digest)
        return DownloadResult(
            task.url,
            target,
            "downloaded",
            None,
            None,
            part.offset,
            digest,
            part.fetched,
            part.resumed_from,
        )

    def _attempt(self, task: DownloadTask, target: Path, part: PartFile) -> int:
        """Send one request for the rest of the part and stream it; return bytes written.

        Raises:
            _Stopped, _Cut, _Restart, DownloadError.
        """
        headers = {"Accept-Encoding": "identity"}  # sizes and hashes are of the file itself
        if part.offset > 0:
            headers["Range"] = f"bytes={part.offset}-"
            validator = part.etag if part.etag and not part.etag.startswith("W/") else None
            validator = validator or part.last_modified
            if validator:
                headers["If-Range"] = validator
        limits = self.limits
        left = (task.size - part.offset) if task.size is not None else limits.max_file_bytes
        try:
            # The gateway follows redirects hop by hop, each hop with only its own origin's
            # credentials (none for a signed CDN URL), and retries 429 and 5xx itself.
            with self.gateway.stream(
                "GET",
                task.url,
                headers=headers,
                timeout=httpx.Timeout(
                    limits.read_timeout_seconds, connect=limits.connect_timeout_seconds
                ),
                deadline_seconds=limits.attempt_deadline_seconds,
                max_bytes=max(left, 0) + _SLACK_BYTES,
            ) as response:
                check_url(httpx.URL(response.url))
                total = self._accept(response, part, task, target)
                return self._stream(response, part, total, target)
        except RequestInterruptedError:
            raise _Stopped("interrupted", "interrupted") from None
        except ResponseTooLargeError:
            raise DownloadError(
                f"{_safe_url(task.url)} sent more bytes than the file has; not kept.",
                "size_mismatch",
            ) from None
        except BackendError as error:
            if error.reason in ("bad_response", "timeout"):
                raise _Cut(str(error)) from None  # a break mid-body or a silence: resume
            raise DownloadError(str(error), error.reason) from None

    def _accept(
        self, response: StreamedResponse, part: PartFile, task: DownloadTask, target: Path
    ) -> int | None:
        """Check the answer before any byte is written; return the file's total size."""
        status = response.status_code
        where = _safe_url(response.url)
        if status in (401, 403):
            raise DownloadError(
                f"{where} answered HTTP {status}: it needs a token (or another one).",
                "auth_required",
            )
        if status == 404:
            raise DownloadError(f"{where} answered HTTP 404: the file is not there.", "not_found")
        if status == 416 and part.offset > 0:
            raise _Restart("the server cannot serve the rest (HTTP 416)")
        if status == 429 or status >= 500:
            raise _Cut(f"HTTP {status}")
        if status not in (200, 206):
            raise DownloadError(f"{where} answered HTTP {status}.", "http_error")
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if status == 206:
            start, total = _content_range(response.headers.get("content-range"))
            if part.offset == 0 or start != part.offset:
                raise _Restart(f"the server sent bytes from {start}, not {part.offset}")
            if part.total is not None and total is not None and total != part.total:
                raise _Restart("the file changed size on the server")
            if part.etag and etag and etag != part.etag:
                raise _Restart("the file changed on the server (another ETag)")
        else:
            if part.offset > 0:
                # Range ignored, or If-Range saw a changed file: this answer is the whole
                # file, so start the part over with it rather than asking again.
                logger.info("Restarting %s from zero: the server sent the whole file", target.name)
                part.reset()
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
        if total is not None and task.size is not None and total != task.size:
            raise DownloadError(
                f"{where} serves {total} bytes, not the {task.size} expected; not downloaded.",
                "size_mismatch",
            )
        needed = (total or task.size or 0) - part.offset + self.limits.free_space_margin_bytes
        free = self.free_space(target.parent)
        if free < needed:
            raise DownloadError(
                f"{target.parent} has {_mib(free)} free; {target.name} needs {_mib(needed)} "
                "(with the safety margin). Free some space and run it again.",
                "no_space",
            )
        if part.offset == 0:
            part.etag, part.last_modified, part.total = etag, last_modified, total
            part.save_meta()
        return total

    def _stream(
        self, response: StreamedResponse, part: PartFile, total: int | None, target: Path
    ) -> int:
        received = 0
        start = part.offset
        started = self.clock()
        limits = self.limits
        rate = limits.bandwidth_bytes_per_second
        # A new file's first bytes are judged (an HTML page, a JSON error) before any is
        # written; the pieces wait here until there are enough of them to judge.
        head: list[bytes] | None = [] if start == 0 else None
        next_report = limits.chunk_bytes
        with open_part_at(part.path, part.offset) as handle:
            # Hashing and writing run beside the socket reads (hashlib and file writes
            # release the GIL), so verifying costs the download little throughput when a
            # core is free for them.
            writer = PartWriter(part, handle, limits.buffer_bytes)
            try:
                # The pieces as the socket gave them (no copy): the writer copies each into
                # its buffer, which is the one copy the body needs.
                for piece in response.iter_bytes(None):
                    if self.stop_event.is_set():
                        raise _Stopped("interrupted", "interrupted")
                    if self.budget_left is not None and self.budget_left <= 0:
                        raise _Stopped("paused", "byte_budget")
                    if total is not None and start + received + len(piece) > total:
                        raise _Restart("the server sent more bytes than it announced")
                    received += len(piece)
                    if self.budget_left is not None:
                        self.budget_left -= len(piece)
                    if head is None:
                        writer.put(piece)
                    else:
                        head.append(piece)
                        if received >= SNIFF_BYTES:
                            _refuse_text(response, b"".join(head), target.name)
                            for held in head:
                                writer.put(held)
                            head = None
                    if received >= next_report:
                        next_report = received + limits.chunk_bytes
                        self._report(Progress(target, start + received, total, received))
                    if rate:
                        ahead = received / rate - (self.clock() - started)
                        if ahead > 0 and self.stop_event.wait(ahead):
                            raise _Stopped("interrupted", "interrupted")
                if head:  # a body shorter than what is judged
                    _refuse_text(response, b"".join(head), target.name)
                    for held in head:
                        writer.put(held)
            finally:
                # What was handed over is written and hashed before anything else happens:
                # the part on disk is always exactly what the hash state has seen.
                writer.close()
                handle.flush()
                os.fsync(handle.fileno())
                part.fetched += part.offset - start
        if total is not None and part.offset < total:
            raise _Cut(f"the body ended at byte {part.offset} of {total}")
        return part.offset - start

    def _report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


def _refuse_text(response: StreamedResponse, head: bytes, name: str) -> None:
    """Refuse a body whose first bytes are an HTML page or a JSON document under a binary
    model's name: ``auth_required`` when it asks to log in, else ``not_a_model``.

    Raises:
        DownloadError: the body is not a model.
    """
    problem = sniff_text_body(head, name)
    if problem is None:
        return
    kind = "an HTML page" if problem.reason == "html_page" else "a JSON document"
    if any(word in head[:SNIFF_BYTES].lower() for word in _LOGIN_WORDS):
        raise DownloadError(
            f"{_safe_url(response.url)} served {kind} asking to log in instead of the model: "
            "set the service's token (CIVITAI_API_TOKEN or HF_TOKEN).",
            "auth_required",
        )
    raise DownloadError(
        f"{_safe_url(response.url)} served {kind} instead of the model; not downloaded.",
        "not_a_model",
    )


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """Parse ``bytes START-END/TOTAL``; return (start, total), None where unknown."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total_text = value[6:].partition("/")
    start_text = span.partition("-")[0]
    start = int(start_text) if start_text.isdigit() else None
    total = int(total_text) if total_text.isdigit() else None
    return start, total


def _safe_url(url: httpx.URL | str) -> str:
    """The URL without its query (signed URLs carry signatures, some carry tokens)."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None))


def _mib(count: int) -> str:
    return f"{count / (1 << 20):.0f} MiB"


def _stop_detail(reason: str, offset: int) -> str:
    why = "the byte budget of this run is spent" if reason == "byte_budget" else "a stop came"
    return f"Paused at byte {offset}: {why}; the next run resumes from there."
