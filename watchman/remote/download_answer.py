"""Judging a download's answer before its bytes are kept: the status, a ``206``'s
``Content-Range`` against the part on disk, the size against the plan and the free space;
and the first bytes of a new file, refused when they are an HTML page or a JSON error
instead of a model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from watchman.comfy.model_file_check import SNIFF_BYTES, sniff_text_body
from watchman.errors import DownloadError
from watchman.remote.download_task import Cut, DownloadTask, Restart
from watchman.remote.part_file import PartFile
from watchman.remote.response_bodies import StreamedResponse

logger = logging.getLogger(__name__)

_LOGIN_WORDS = (b"log in", b"login", b"sign in", b"signin", b"unauthorized", b"token")


def accept_answer(
    response: StreamedResponse,
    part: PartFile,
    task: DownloadTask,
    target: Path,
    *,
    free_space: Callable[[Path], int],
    margin_bytes: int,
) -> int | None:
    """Check the answer before any byte is written; return the file's total size.

    Takes the answer, the part on disk (reset when the answer is the whole file again;
    its validators saved when it starts), the task, the final path, how to measure the
    free space of a folder and the margin to keep free.

    Raises:
        DownloadError: auth_required, not_found, http_error, size_mismatch or no_space.
        Restart: the answer does not continue the part (HTTP 416, another start, size or
            ETag). Cut: 429 or 5xx, worth asking again.
        OSError: the part's description cannot be saved.
    """
    status = response.status_code
    where = safe_url(response.url)
    if status in (401, 403):
        raise DownloadError(
            f"{where} answered HTTP {status}: it needs a token (or another one).",
            "auth_required",
        )
    if status == 404:
        raise DownloadError(f"{where} answered HTTP 404: the file is not there.", "not_found")
    if status == 416 and part.offset > 0:
        raise Restart("the server cannot serve the rest (HTTP 416)")
    if status == 429 or status >= 500:
        raise Cut(f"HTTP {status}")
    if status not in (200, 206):
        raise DownloadError(f"{where} answered HTTP {status}.", "http_error")
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    if status == 206:
        start, total = content_range(response.headers.get("content-range"))
        if part.offset == 0 or start != part.offset:
            raise Restart(f"the server sent bytes from {start}, not {part.offset}")
        if part.total is not None and total is not None and total != part.total:
            raise Restart("the file changed size on the server")
        if part.etag and etag and etag != part.etag:
            raise Restart("the file changed on the server (another ETag)")
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
    needed = (total or task.size or 0) - part.offset + margin_bytes
    free = free_space(target.parent)
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


def refuse_text(response: StreamedResponse, head: bytes, name: str) -> None:
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
            f"{safe_url(response.url)} served {kind} asking to log in instead of the model: "
            "set the service's token (CIVITAI_API_TOKEN or HF_TOKEN).",
            "auth_required",
        )
    raise DownloadError(
        f"{safe_url(response.url)} served {kind} instead of the model; not downloaded.",
        "not_a_model",
    )


def content_range(value: str | None) -> tuple[int | None, int | None]:
    """Parse ``bytes START-END/TOTAL``; return (start, total), None where unknown."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total_text = value[6:].partition("/")
    start_text = span.partition("-")[0]
    start = int(start_text) if start_text.isdigit() else None
    total = int(total_text) if total_text.isdigit() else None
    return start, total


def safe_url(url: httpx.URL | str) -> str:
    """The URL without its query (signed URLs carry signatures, some carry tokens)."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None))


def _mib(count: int) -> str:
    return f"{count / (1 << 20):.0f} MiB"
