"""A run's search budget: at most so many models asked of the backends, for at most so
many minutes; the rest are ``ERROR deferred``, never cached, asked next time. Answers that
need no request (a known source, the cache) never spend it. Over real sockets on
127.0.0.1; the clock is a fake one the server's thread moves."""

from __future__ import annotations

import json

import httpx

from watchman.config import Settings
from watchman.home import Home
from watchman.resolve import SearchRequest, Status
from watchman.resolve.budget import DEFERRED, SearchBudget

from .conftest import resolver_for, settings_for
from .servers import ReplayServer, Reply, Seen

SEARCH = "/api/v1/models"


def with_budget(settings: Settings, **search: object) -> Settings:
    return settings.model_copy(
        update={"search": settings.search.model_copy(update=search)}, deep=True
    )


def requests_for(count: int) -> list[SearchRequest]:
    return [SearchRequest(f"model{number}.safetensors", "loras") for number in range(count)]


def test_a_budget_of_two_models_lets_two_searches_start_and_holds_back_the_third() -> None:
    budget = SearchBudget(2, 0, lambda: 0.0)
    assert budget.take() is None
    assert budget.take() is None
    held_back = budget.take()
    assert held_back is not None and "search.max_models_per_cycle" in held_back
    assert budget.deferred == 1


def test_a_budget_of_zero_models_and_zero_minutes_has_no_limit() -> None:
    budget = SearchBudget(0, 0, lambda: 0.0)
    assert all(budget.take() is None for _ in range(10_000))
    assert budget.deferred == 0


def test_the_time_budget_counts_from_when_it_was_made() -> None:
    now = [100.0]
    budget = SearchBudget(0, 60, lambda: now[0])
    now[0] = 159.0
    assert budget.take() is None
    now[0] = 160.0
    held_back = budget.take()
    assert held_back is not None and "1 minute" in held_back
    assert "search.max_minutes_per_cycle" in held_back


def test_models_past_the_budget_are_deferred_uncached_and_asked_in_later_runs(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = with_budget(
        settings_for(civitai=server.url, order=("civitai",)), max_models_per_cycle=2
    )
    requests = requests_for(5)
    outcomes = []
    for _ in range(3):
        with resolver_for(settings, home, client) as resolver:
            results = resolver.search_multiple_models(requests)
            deferred = resolver.deferred
        statuses = sorted((result.status.value, result.reason or "") for result in results.values())
        outcomes.append((statuses.count(("NOT_FOUND", "")), deferred))
        assert all(
            result.reason == DEFERRED
            for result in results.values()
            if result.status is Status.ERROR
        )
        assert "deferred" not in home.resolution_cache.read_text(encoding="utf-8")
    # Each run asks two new models; the answers before come from the cache for free.
    assert outcomes == [(2, 3), (4, 1), (5, 0)]


def test_a_deferred_result_says_why_and_what_happens_next(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = with_budget(
        settings_for(civitai=server.url, order=("civitai",)),
        max_models_per_cycle=1,
        max_parallel_models=1,
    )
    first, second = requests_for(2)
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models([first, second])
    assert results[first.key].status is Status.NOT_FOUND
    held_back = results[second.key]
    assert (held_back.status, held_back.reason) == (Status.ERROR, DEFERRED)
    assert held_back.detail is not None and "the next cycle asks" in held_back.detail
    # The deferred model sent nothing: no search names it.
    assert server.requests
    assert not any("model1" in json.dumps(seen.query) for seen in server.requests)


def test_known_sources_and_cached_answers_spend_no_budget(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = with_budget(
        settings_for(civitai=server.url, order=("civitai",)), max_models_per_cycle=1
    )
    asked_before, new = requests_for(2)
    with resolver_for(settings, home, client) as resolver:
        assert resolver.search(asked_before).status is Status.NOT_FOUND
    embedded = SearchRequest(
        "known.safetensors", "loras", embedded_url="https://example.invalid/known.safetensors"
    )
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models([embedded, asked_before, new])
        assert resolver.deferred == 0
    assert results[embedded.key].status is Status.FOUND
    assert results[asked_before.key].status is Status.NOT_FOUND
    assert results[new.key].status is Status.NOT_FOUND


def test_no_model_is_asked_once_the_search_time_is_spent(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    now = [0.0]

    def slow_search(seen: Seen) -> Reply:
        now[0] += 120.0  # every search takes two minutes of the fake clock
        return Reply(200, {"items": []})

    server.route("GET", SEARCH, handler=slow_search)
    settings = with_budget(
        settings_for(civitai=server.url, order=("civitai",)),
        max_models_per_cycle=0,
        max_minutes_per_cycle=1,
        max_parallel_models=1,
    )
    with resolver_for(settings, home, client, monotonic=lambda: now[0]) as resolver:
        results = resolver.search_multiple_models(requests_for(4))
        assert resolver.deferred == 3
    reasons = [result.reason for result in results.values()]
    assert reasons.count(DEFERRED) == 3
