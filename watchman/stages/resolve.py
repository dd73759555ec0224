"""The resolve stage: one request per unique missing model, known sources from every
workflow seen, then the resolver; results keyed as the report keys them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from watchman.config import Settings
from watchman.home import Home
from watchman.resolve import KnownSources, SearchRequest, SearchResult, build_resolver
from watchman.services import Services
from watchman.stages.needs import WorkflowNeeds
from watchman.stages.workflows import StoredWorkflow


def resolve_missing_models(
    settings: Settings,
    home: Home,
    root: Path,
    workflows: Sequence[StoredWorkflow],
    needs: Mapping[str, WorkflowNeeds],
    *,
    offline: bool,
    backends: Sequence[str] | None,
    http_client: httpx.Client | None,
    stop_event: threading.Event | None = None,
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Resolve each unique missing model once; return results by report key and a note.

    A set ``stop_event`` ends resolution early: unresolved models come back ERROR
    ``interrupted`` without further requests."""
    requests: dict[str, Any] = {}
    for workflow_needs in needs.values():
        for need in workflow_needs.missing_models:
            if need.state != "missing":
                continue
            reference = need.reference
            key = need.key.text
            if key in requests:
                continue
            embedded = reference.embedded
            requests[key] = SearchRequest(
                value=reference.value,
                folder=reference.folder,
                embedded_url=embedded.url if embedded else None,
                embedded_hash=embedded.hash if embedded else None,
                embedded_hash_type=embedded.hash_type if embedded else None,
            )
    if not requests:
        return {}, None
    known = KnownSources.from_comfyui(root)
    for stored in workflows:
        if stored.parsed is None:
            continue
        for model in stored.parsed.embedded_models:
            if model.url:
                known.add_model(
                    model.name,
                    model.url,
                    model.directory,
                    model.hash,
                    model.hash_type,
                    source=f"workflow {stored.watched.path.name}",
                )
    with build_resolver(
        settings,
        home,
        root,
        known_sources=known,
        offline=offline,
        backends=backends,
        client=http_client,
        stop_event=stop_event,
    ) as resolver:
        results = resolver.search_multiple_models(list(requests.values()))
    by_report_key = {}
    for key, request in requests.items():
        result = results.get(request.key)
        if result is not None:
            by_report_key[key] = result.to_json()
    note = "offline: only known sources were used" if offline else None
    return by_report_key, note


def resolve_one(
    services: Services,
    comfyui_root: Path | None,
    request: SearchRequest,
    more_sources: KnownSources | None = None,
) -> SearchResult:
    """Resolve one model exactly as the cycle's resolve stage would: the install's known
    sources (ComfyUI-Manager's model list, the template packages), then ``more_sources``,
    then the backends in ``services.backend_order`` unless offline, through the same
    resolver and cache.

    Args:
        services: the wired services (settings, client, stop event).
        comfyui_root: the ComfyUI install whose known sources count; None: none.
        request: the model, as a workflow names it, with its folder when known.
        more_sources: further known sources (URLs embedded in workflows).

    Returns:
        The result (a backend failure is an ERROR result, not an exception).

    Raises:
        ConfigError: a backend in the order is unknown.
    """
    with services.resolver(comfyui_root, more_sources) as resolver:
        return resolver.search(request)
