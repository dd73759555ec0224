"""Where a download may go and where it may come from: the checks made before any byte.

A target must resolve inside the folder it belongs to (``..``, absolute paths, drive
letters, NUL bytes and symbolic links leading out are refused); a URL must be ``https:``,
or ``http:`` to this machine only. Pure functions of paths and URLs.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import httpx

from watchman.errors import DownloadError


def _safe_url(url: httpx.URL | str) -> str:
    """The URL without its query (signed URLs carry signatures, some carry tokens)."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: httpx.URL) -> None:
    """Refuse anything but ``https:``, or ``http:`` to a loopback host.

    Raises:
        DownloadError: ``insecure_url``.
    """
    scheme = url.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(url.host or "")):
        return
    raise DownloadError(
        f"{_safe_url(url)} is not https; only https (or http to this machine) is downloaded.",
        "insecure_url",
    )


def safe_target(root: Path, relative: str) -> Path:
    """Return where ``relative`` goes under ``root``, refusing anything that escapes it.

    ``relative`` uses ``/`` or ``\\``; ``..``, ``.``, empty parts, absolute paths, drive
    letters, NUL bytes, and a path whose existing folders (or an existing file) lead out of
    ``root`` through a symbolic link are refused. Takes the folder type's root.

    Raises:
        DownloadError: ``unsafe_target``.
    """
    text = relative.replace("\\", "/")
    parts = text.split("/")

    def refuse(why: str) -> DownloadError:
        return DownloadError(f"Refusing to write {relative!r}: {why}.", "unsafe_target")

    if not text or "\x00" in text:
        raise refuse("it is empty or holds a NUL byte")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise refuse("it is an absolute path")
    for part in parts:
        if part in ("", ".", ".."):
            raise refuse("it climbs out of the folder or has empty parts")
        if ":" in part:
            raise refuse("it names a drive or a stream")
    real_root = Path(os.path.realpath(root))
    target = real_root.joinpath(*parts)
    # Every existing folder on the way, and the file itself if it is a link, must stay
    # inside the root after links are followed.
    real_target = Path(os.path.realpath(target))
    if os.path.commonpath([real_root, real_target]) != str(real_root) or real_target == real_root:
        raise refuse(f"it resolves to {real_target}, outside {real_root}")
    return target
