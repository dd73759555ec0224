"""The resolution cache: a time-to-live per status, ERROR backoff across cycles, safe files."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from watchman.config import CacheTTLSettings
from watchman.resolve.cache import ResolutionCache, backend_key
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for

REQUEST = SearchRequest("SDXL\\model.safetensors", "checkpoints")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def cache_at(path: Path, clock: Clock) -> ResolutionCache:
    ttl = CacheTTLSettings(
        found_hours=720, uncertain_hours=24, not_found_hours=24, error_minutes=30, error_max_hours=3
    )
    return ResolutionCache(path, ttl, now=clock)


def test_a_found_result_is_kept_for_its_time_to_live_across_a_reload(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "resolution_cache.json"
    cache = cache_at(path, clock)
    found = result_for(
        REQUEST,
        Status.FOUND,
        "civitai",
        download_url="https://example.invalid/model",
        size=12,
        candidates=(Candidate("model.ckpt", None, "qwen", "unverified"),),
    )
    cache.put("key", found)
    assert cache.save() is True
    assert cache.save() is False  # unchanged content is not rewritten
    clock.now += timedelta(hours=700)
    reloaded = cache_at(path, clock)
    assert reloaded.get("key") == found
    clock.now += timedelta(hours=21)
    assert reloaded.get("key") is None


def test_not_found_is_kept_shorter_than_found(tmp_path: Path) -> None:
    clock = Clock()
    cache = cache_at(tmp_path / "cache.json", clock)
    cache.put("key", result_for(REQUEST, Status.NOT_FOUND, "civitai"))
    clock.now += timedelta(hours=23)
    assert cache.get("key") is not None
    clock.now += timedelta(hours=2)
    assert cache.get("key") is None


def test_a_repeated_error_is_kept_twice_as_long_each_cycle_up_to_the_cap(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "cache.json"
    error = result_for(REQUEST, Status.ERROR, "qwen", reason="unreachable")
    lifetimes = []
    for _ in range(5):
        cache = cache_at(path, clock)
        assert cache.get("key") is None
        cache.put("key", error)
        cache.save()
        started = clock.now
        while cache.get("key") is not None:
            clock.now += timedelta(minutes=15)
        lifetimes.append(clock.now - started)
    assert lifetimes == [
        timedelta(minutes=30),
        timedelta(minutes=60),
        timedelta(minutes=120),
        timedelta(minutes=180),
        timedelta(minutes=180),
    ]


def test_a_not_found_with_backend_errors_is_kept_only_as_long_as_an_error(tmp_path: Path) -> None:
    clock = Clock()
    cache = cache_at(tmp_path / "cache.json", clock)
    partial = result_for(REQUEST, Status.NOT_FOUND, "civitai", errors=("qwen: unreachable",))
    cache.put("key", partial)
    clock.now += timedelta(minutes=31)
    assert cache.get("key") is None


def test_a_corrupt_cache_file_is_set_aside_and_the_cache_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.write_text("{not json", encoding="utf-8")
    cache = cache_at(path, Clock())
    assert cache.get("key") is None
    assert list(tmp_path.glob("cache.json.corrupt-*"))


def test_cache_keys_differ_by_backend_and_ignore_separator_and_case() -> None:
    same = SearchRequest("sdxl/MODEL.safetensors", "checkpoints")
    assert backend_key(REQUEST, "civitai") == backend_key(same, "civitai")
    assert backend_key(REQUEST, "civitai") != backend_key(REQUEST, "qwen")
    assert backend_key(REQUEST, "civitai") != backend_key(
        SearchRequest("sdxl/MODEL.safetensors", "loras"), "civitai"
    )


def test_results_survive_a_json_round_trip() -> None:
    result = SearchResult(
        status=Status.UNCERTAIN,
        backend="qwen,civitai",
        file_name="a.safetensors",
        folder="loras",
        subfolder="x/y",
        candidates=(Candidate("a.ckpt", "https://example.invalid/a", "civitai", "near name"),),
        reason=None,
        detail="two backends",
        errors=("huggingface: gated",),
    )
    assert SearchResult.from_json(result.to_json()) == result


def test_an_error_is_kept_until_the_time_retry_after_asked_for(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "cache.json"
    cache = cache_at(path, clock)
    limited = result_for(REQUEST, Status.ERROR, "civitai", reason="rate_limited")
    cache.put("key", limited, not_before=clock.now + timedelta(hours=2))
    cache.save()
    # Past the error time-to-live (30 minutes), still kept until the time asked for.
    clock.now += timedelta(hours=1, minutes=59)
    assert cache_at(path, clock).get("key") == limited
    clock.now += timedelta(minutes=2)
    assert cache_at(path, clock).get("key") is None


def test_an_error_is_never_kept_past_the_longest_error_time_to_live(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "cache.json"
    cache = cache_at(path, clock)
    limited = result_for(REQUEST, Status.ERROR, "civitai", reason="rate_limited")
    # A host asking for a year is asked again after error_max_hours (3 hours here).
    cache.put("key", limited, not_before=clock.now + timedelta(days=365))
    cache.save()
    clock.now += timedelta(hours=2, minutes=59)
    assert cache_at(path, clock).get("key") == limited
    clock.now += timedelta(minutes=2)
    assert cache_at(path, clock).get("key") is None


def test_a_short_retry_after_never_shortens_the_error_time_to_live(tmp_path: Path) -> None:
    clock = Clock()
    cache = cache_at(tmp_path / "cache.json", clock)
    limited = result_for(REQUEST, Status.ERROR, "civitai", reason="rate_limited")
    cache.put("key", limited, not_before=clock.now + timedelta(seconds=5))
    clock.now += timedelta(minutes=29)
    assert cache.get("key") == limited
