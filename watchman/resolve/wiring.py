"""Wiring the resolver: one gateway per service over the one HTTP client (so a token only
ever reaches its own host, and every gateway shares one per-host state), the three
backends, the cache and the known sources. ``Services.resolver`` calls it; nothing else
builds a resolver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone

import httpx

from watchman.config import KNOWN_BACKENDS, Settings
from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_options import HttpOptions, hosts_for
from watchman.remote.origins import credentials_key
from watchman.remote.transport import new_client
from watchman.resolve.budget import SearchBudget
from watchman.resolve.cache import ResolutionCache
from watchman.resolve.civitai import CivitaiBackend
from watchman.resolve.health import HealthBoard
from watchman.resolve.huggingface import HuggingFaceBackend
from watchman.resolve.known_sources import KnownSources
from watchman.resolve.orchestrator import Resolver
from watchman.resolve.qwen import QwenBackend


def build_resolver(
    settings: Settings,
    home: Home,
    *,
    known_sources: KnownSources,
    offline: bool,
    backend_order: Sequence[str],
    client: httpx.Client | None = None,
    http_options: HttpOptions | None = None,
    stop_event: threading.Event | None = None,
    wall: Callable[[], float],
    monotonic: Callable[[], float] | None = None,
) -> Resolver:
    """Build a resolver from the settings. Called by ``Services.resolver`` (the one place
    that decides offline and the backend order, and adds the install's catalogues).

    Args:
        settings: the loaded settings (``search``, ``civitai``, ``huggingface``, ``qwen``).
        home: the tool's home; the cache lives at ``home.resolution_cache``.
        known_sources: the whole catalogue: the install's and the workflows' sources.
        offline: ask no remote backend.
        backend_order: the remote backends in order, names already checked by the
            settings model (``search.backend_order``).
        client: an ``httpx.Client`` to use (not closed by the resolver); else one is made.
        http_options: timeouts, retries and waits (default: from ``settings.search``).
        stop_event: when set (a SIGTERM, say), no further request is sent and every model
            not yet resolved is ``ERROR interrupted``; backoff waits end at once.
        wall: the wall clock handed down from ``main()`` (``Environment.clock.wall``):
            it dates answers and cache entries and times Retry-After waits.
        monotonic: the clock of the run's search time (``Environment.clock.monotonic``);
            None: the search time is not bounded (``search.max_models_per_cycle`` still
            is).
    """
    catalogue = KnownSources()
    catalogue.merge(known_sources)
    order = list(backend_order)

    def now() -> datetime:
        return datetime.fromtimestamp(wall(), timezone.utc)

    cache = ResolutionCache(home.resolution_cache, settings.search.cache_ttl, now)
    if offline:
        return Resolver(
            known_sources=catalogue,
            backends={},
            backend_order=order,
            cache=cache,
            offline=True,
            stop_event=stop_event,
            now=now,
        )
    closers: list[Callable[[], None]] = []
    if client is None:
        # A stop must wake a blocked read: the gateway's client waits in short slices.
        client = new_client()
        closers.append(client.close)
    options = http_options or HttpOptions(
        timeout_seconds=settings.search.timeout_seconds,
        max_retries=settings.search.max_retries,
        per_host_concurrency=settings.search.per_host_concurrency,
    )
    # One host state for every gateway over this client: Qwen's tool calls, the node map
    # and the downloads meet the same per-host limits, pauses and down marks.
    limiter = hosts_for(client, options)

    def gateway(base_url: str, token: str | None, own: HttpOptions = options) -> HttpGateway:
        # One gateway per service, so a token can only ever reach its own host.
        credentials = (
            {credentials_key(base_url): {"Authorization": f"Bearer {token}"}} if token else {}
        )
        return HttpGateway(client, own, credentials, limiter=limiter, stop_event=stop_event)

    civitai = CivitaiBackend(
        gateway(settings.civitai.base_url, _secret(settings.civitai.api_token)),
        settings.civitai.base_url,
        max_search_terms=settings.civitai.max_search_terms,
    )
    hf_token = _secret(settings.huggingface.token)
    huggingface = HuggingFaceBackend(
        gateway(settings.huggingface.base_url, hf_token),
        settings.huggingface.base_url,
        max_repos=settings.huggingface.max_repos,
        token_configured=bool(hf_token),
    )
    # An LLM that timed out once will time out again: one retry at most, not a minute each.
    qwen_options = replace(options, max_retries=min(options.max_retries, 1))
    qwen_gateway = gateway(settings.qwen.base_url, _secret(settings.qwen.api_key), qwen_options)
    health = HealthBoard(KNOWN_BACKENDS, now)
    qwen = QwenBackend(
        qwen_gateway,
        settings.qwen.base_url,
        settings.qwen.model,
        civitai=civitai,
        huggingface=huggingface,
        timeout_seconds=settings.qwen.timeout_seconds,
        connect_timeout_seconds=settings.qwen.connect_timeout_seconds,
        max_tool_calls=settings.qwen.max_tool_calls,
        health=health,
    )
    budget = SearchBudget(
        settings.search.max_models_per_cycle,
        settings.search.max_minutes_per_cycle * 60 if monotonic is not None else 0,
        monotonic or (lambda: 0.0),
    )
    return Resolver(
        known_sources=catalogue,
        backends={"civitai": civitai, "huggingface": huggingface, "qwen": qwen},
        budget=budget,
        backend_order=order,
        cache=cache,
        max_parallel_models=settings.search.max_parallel_models,
        closers=closers,
        stop_event=stop_event,
        health=health,
        now=now,
    )


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if callable(getter) else None
