"""Where a download may go and where it may come from: the checks made before any byte.

A target must resolve inside the folder it belongs to (``..``, absolute paths, drive
letters, NUL bytes and symbolic links leading out are refused) and be a name Windows can
hold (no reserved device name, no trailing dot or space, none of ``<>:"|?*`` or control
characters); a URL must be ``https:``, or ``http:`` to this machine only. Pure functions of
paths and URLs.
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


# Names Windows reserves for devices, whatever the extension ("CON.safetensors" opens the
# console) and the case; Microsoft's naming rules also list COM0/LPT0, the superscript
# digits and the console's CONIN$/CONOUT$, which some Windows versions reserve as well.
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"]
)
_WINDOWS_FORBIDDEN = frozenset('<>"|?*')


def unportable_reason(part: str) -> str | None:
    """Return why Windows cannot hold a file or folder named ``part``, or None.

    Takes one path part (no separator). Refused: a reserved device name (``CON``, ``PRN``,
    ``AUX``, ``NUL``, ``COM1``…, ``LPT1``…; any case, with or without an extension), a name
    ending in a dot or a space, one of ``<>"|?*`` and control characters (``:`` is refused
    by the caller as a drive or stream).
    """
    if any(ord(char) < 32 for char in part):
        return "it holds a control character"
    bad = sorted({char for char in part if char in _WINDOWS_FORBIDDEN})
    if bad:
        return f"it holds {' '.join(bad)}, which Windows does not allow in a file name"
    if part.endswith((".", " ")):
        return f"{part!r} ends in a dot or a space, which Windows drops"
    # Windows matches the device name before the first dot, trailing spaces ignored.
    if part.split(".", 1)[0].rstrip(" ").upper() in _DEVICE_NAMES:
        return f"{part!r} is a device name Windows reserves"
    return None


def target_parts(relative: str) -> list[str]:
    """Return the parts of ``relative`` (``/`` or ``\\`` separated), refusing a name that
    could leave its folder or that Windows cannot hold. Pure: no file system access.

    Refused: ``..``, ``.``, empty parts, absolute paths, drive letters, NUL bytes, and the
    names of :func:`unportable_reason`.

    Raises:
        DownloadError: ``unsafe_target``, one sentence saying why.
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
        # Refused on every platform, not only on Windows: a plan made on Linux may be
        # copied to (or share models with) a Windows machine, where such a name opens a
        # device, loses its trailing dot, or cannot be created at all.
        why = unportable_reason(part)
        if why is not None:
            raise refuse(why)
    return parts


def safe_target(root: Path, relative: str) -> Path:
    """Return where ``relative`` goes under ``root``, refusing anything that escapes it.

    The name must pass :func:`target_parts`; then a path whose existing folders (or an
    existing file) lead out of ``root`` through a symbolic link is refused too. Takes the
    folder type's root.

    Raises:
        DownloadError: ``unsafe_target``.
    """
    parts = target_parts(relative)
    real_root = Path(os.path.realpath(root))
    target = real_root.joinpath(*parts)
    # Every existing folder on the way, and the file itself if it is a link, must stay
    # inside the root after links are followed.
    real_target = Path(os.path.realpath(target))
    if os.path.commonpath([real_root, real_target]) != str(real_root) or real_target == real_root:
        raise DownloadError(
            f"Refusing to write {relative!r}: it resolves to {real_target}, outside {real_root}.",
            "unsafe_target",
        )
    return target
