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
from pathlib import Path

import httpx
from filelock import FileLock, Timeout

from watchman.comfy.model_file_check import SNIFF_BYTES
from watchman.errors import BackendError, DownloadError
from watchman.remote.download_answer import accept_answer, refuse_text, safe_url
from watchman.remote.download_resume import open_part
from watchman.remote.download_safety import check_url, safe_target
from watchman.remote.download_task import (
    Cut,
    DownloadLimits,
    DownloadResult,
    DownloadTask,
    Outcome,
    Progress,
    Restart,
    Stopped,
)
from watchman.remote.download_verify import verify_and_place
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import RequestInterruptedError, ResponseTooLargeError
from watchman.remote.part_file import PartFile, PartWriter, open_part_at
from watchman.remote.response_bodies import StreamedResponse

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".cwlock"
_SLACK_BYTES = 1 << 20
"""Read past the expected end (a server sending too much is caught by the size check)."""


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

    def _download(self, task: DownloadTask, target: Path) -> DownloadResult:
        try:
            part = open_part(task, target, self.stop_event)
        except Stopped as stop:
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
            except Stopped as stop:
                return result(stop.outcome, stop.reason, _stop_detail(stop.reason, part.offset))
            except Restart as why:
                restarts += 1
                if restarts > 2:
                    part.discard()
                    return result(
                        "failed", "http_error", f"The server's answers do not add up: {why}."
                    )
                logger.info("Restarting %s from zero: %s", target.name, why)
                part.reset()
            except Cut as cut:
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
                    safe_url(task.url), part.offset, cut,
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
        digest = verify_and_place(task, target, part)
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
            Stopped, Cut, Restart, DownloadError.
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
                total = accept_answer(
                    response,
                    part,
                    task,
                    target,
                    free_space=self.free_space,
                    margin_bytes=limits.free_space_margin_bytes,
                )
                return self._stream(response, part, total, target)
        except RequestInterruptedError:
            raise Stopped("interrupted", "interrupted") from None
        except ResponseTooLargeError:
            raise DownloadError(
                f"{safe_url(task.url)} sent more bytes than the file has; not kept.",
                "size_mismatch",
            ) from None
        except BackendError as error:
            if error.reason in ("bad_response", "timeout"):
                raise Cut(str(error)) from None  # a break mid-body or a silence: resume
            raise DownloadError(str(error), error.reason) from None

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
                        raise Stopped("interrupted", "interrupted")
                    if self.budget_left is not None and self.budget_left <= 0:
                        raise Stopped("paused", "byte_budget")
                    if total is not None and start + received + len(piece) > total:
                        raise Restart("the server sent more bytes than it announced")
                    received += len(piece)
                    if self.budget_left is not None:
                        self.budget_left -= len(piece)
                    if head is None:
                        writer.put(piece)
                    else:
                        head.append(piece)
                        if received >= SNIFF_BYTES:
                            refuse_text(response, b"".join(head), target.name)
                            for held in head:
                                writer.put(held)
                            head = None
                    if received >= next_report:
                        next_report = received + limits.chunk_bytes
                        self._report(Progress(target, start + received, total, received))
                    if rate:
                        ahead = received / rate - (self.clock() - started)
                        if ahead > 0 and self.stop_event.wait(ahead):
                            raise Stopped("interrupted", "interrupted")
                if head:  # a body shorter than what is judged
                    refuse_text(response, b"".join(head), target.name)
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
            raise Cut(f"the body ended at byte {part.offset} of {total}")
        return part.offset - start

    def _report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


def _stop_detail(reason: str, offset: int) -> str:
    why = "the byte budget of this run is spent" if reason == "byte_budget" else "a stop came"
    return f"Paused at byte {offset}: {why}; the next run resumes from there."
