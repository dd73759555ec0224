"""``Retry-After`` read robustly: delta-seconds or an HTTP date, anything else ignored."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

# The longest Retry-After this tool ever believes: anything longer is read as this (a
# week), so no arithmetic on a server's number can overflow.
RETRY_AFTER_CEILING_SECONDS = 7 * 24 * 3600.0

_SECONDS = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,9})?")


def parse_retry_after(value: str | None, now: datetime | None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds, or None.

    Takes delta-seconds (``"5"``, leniently ``"1.5"``) or an HTTP date, and ``now``: the
    moment the date is measured from, which the gateway takes from the same response's
    ``Date`` header (:func:`server_time`), so the two machines' clocks never need to
    agree. A date with no ``now`` to measure it by is None; a date in the past means zero.
    Anything else (``"²"``, ``"soon"``, a negative number, an impossible date) is None: the
    header is ignored. A number beyond a week is read as a week
    (``RETRY_AFTER_CEILING_SECONDS``), so no later arithmetic can overflow. Never raises.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):  # ASCII digits only: str.isdigit() also takes "²"
        return min(float(text), RETRY_AFTER_CEILING_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or now is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return None
    return min(max(0.0, seconds), RETRY_AFTER_CEILING_SECONDS)


def server_time(date_header: str | None) -> datetime | None:
    """Return the moment a response's ``Date`` header names (UTC), or None when absent or
    unreadable. Never raises."""
    if date_header is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date_header.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
