"""The resolution cache (``state/resolution_cache.json``): results kept for a time-to-live
that depends on their status, so an unchanged missing set costs no request next cycle.

FOUND is kept long, UNCERTAIN and NOT_FOUND shorter, ERROR shortest, and an ERROR that
repeats across cycles is kept twice as long each time, up to a cap (a service that is down
is not asked again every cycle). A result that came with backend errors counts as ERROR
for its time-to-live. An ERROR is kept until the time a ``Retry-After`` asked for, but
never past the longest error time-to-live (``error_max_hours``): a host's answer decides
no more than the configuration allows. The resolver keys each backend's own answer
(``backend_key``), so one backend's failure never shortens another's entry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from watchman.config import CacheTTLSettings
from watchman.resolve.model import SearchRequest, SearchResult, Status
from watchman.state.json_state import SCHEMA_VERSION_KEY, read_json_state
from watchman.state.safe_files import write_json_if_changed

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def backend_key(request: SearchRequest, backend: str) -> str:
    """Return the cache key of one backend's own answer to a request."""
    return f"{request.key}@{backend}"


class ResolutionCache:
    """Results with expiry times, loaded from and saved to one JSON state file.

    Thread-safe: the resolver reads and writes it from several worker threads.
    """

    def __init__(
        self,
        path: Path,
        ttl: CacheTTLSettings,
        now: Callable[[], datetime],
    ) -> None:
        """``now`` reads the clock handed down from ``main()`` (an aware UTC datetime)."""
        self.path = path
        self.ttl = ttl
        self._now = now
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def load(self) -> None:
        """Read the cache file, once, before worker threads start.

        An absent or corrupt file means an empty cache (``read_json_state`` sets a corrupt
        one aside)."""
        document = read_json_state(self.path, SCHEMA_VERSION)
        entries = document.get("entries") if document else None
        with self._lock:
            self._entries = (
                {key: value for key, value in entries.items() if isinstance(value, dict)}
                if isinstance(entries, dict)
                else {}
            )
            self._loaded = True

    def get(self, key: str) -> SearchResult | None:
        """Return the cached result for ``key`` while it is fresh, else None."""
        self._ensure_loaded()
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        expires = _parse_time(entry.get("expires_at"))
        if expires is None or expires <= self._now():
            return None
        try:
            return SearchResult.from_json(entry.get("result") or {})
        except (ValueError, TypeError):
            return None

    def put(self, key: str, result: SearchResult, not_before: datetime | None = None) -> None:
        """Store ``result`` with the time-to-live its status earns.

        ``not_before`` (a ``Retry-After`` time) keeps a failed result at least until then,
        so a host that asked to be left alone is not asked again by the next cycle.
        """
        self._ensure_loaded()
        now = self._now()
        with self._lock:
            previous = self._entries.get(key) or {}
            failed = result.status is Status.ERROR or (
                result.status is not Status.FOUND and bool(result.errors)
            )
            streak = int(previous.get("error_streak") or 0) + 1 if failed else 0
            expires = now + self._time_to_live(result, streak)
            if failed and not_before is not None:
                longest = now + timedelta(hours=self.ttl.error_max_hours)
                expires = max(expires, min(not_before, longest))
            self._entries[key] = {
                "stored_at": now.isoformat(),
                "expires_at": expires.isoformat(),
                "error_streak": streak,
                "result": result.to_json(),
            }

    def save(self) -> bool:
        """Write the cache atomically, dropping expired entries; unchanged content is not
        rewritten.

        Returns:
            True when the file was written.

        Raises:
            OSError: the state folder is not writable.
        """
        self._ensure_loaded()
        now = self._now()
        # An expired ERROR entry is kept a while longer: its streak doubles the next wait.
        streak_memory = timedelta(hours=self.ttl.error_max_hours)
        with self._lock:
            kept = {}
            for key, entry in self._entries.items():
                expires = _parse_time(entry.get("expires_at")) or now
                failed = int(entry.get("error_streak") or 0) > 0
                if expires > now or (failed and expires + streak_memory > now):
                    kept[key] = entry
            self._entries = kept
            document = {SCHEMA_VERSION_KEY: SCHEMA_VERSION, "entries": dict(kept)}
        return write_json_if_changed(self.path, document)

    def _ensure_loaded(self) -> None:
        # Without this, a put before the first get would be wiped by the lazy load.
        if not self._loaded:
            self.load()

    def _time_to_live(self, result: SearchResult, error_streak: int) -> timedelta:
        if error_streak > 0:
            # Doubling per repeated failure, so a dead service costs ever fewer requests.
            minutes = self.ttl.error_minutes * (2 ** min(error_streak - 1, 30))
            return min(timedelta(minutes=minutes), timedelta(hours=self.ttl.error_max_hours))
        hours = {
            Status.FOUND: self.ttl.found_hours,
            Status.UNCERTAIN: self.ttl.uncertain_hours,
            Status.NOT_FOUND: self.ttl.not_found_hours,
        }.get(result.status, 0.0)
        return timedelta(hours=hours)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
