"""The resolve stage: one request per unique missing model (by model key), known sources
from every workflow seen, then the resolver; results keyed by model key. The models more
workflows need are asked first, so a cycle's search budget is spent where it unblocks
most."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from watchman.comfy.model_key import ModelKey
from watchman.resolve import KnownSources, SearchRequest, SearchResult
from watchman.services import Services
from watchman.stages.cache_failures import CacheFailures
from watchman.stages.needs import Assessment, NeedsResult
from watchman.stages.needs_model import ModelNeed

OFFLINE_NOTE = "offline: only known sources were used"


@dataclass(frozen=True)
class Resolutions:
    """Where to get each missing model, by its key, and a note on how they were found.
    ``deferred`` counts the models the cycle's search budget left for the next cycle."""

    by_key: Mapping[ModelKey, SearchResult]
    note: str | None = None
    deferred: int = 0

    def get(self, key: ModelKey) -> SearchResult | None:
        """The result for ``key``, or None when it was not resolved."""
        return self.by_key.get(key)


def search_request(need: ModelNeed) -> SearchRequest:
    """The resolver's request for one missing model: the value as written, the loader's
    folder, and what the workflow embeds about it (URL, hash)."""
    reference = need.reference
    embedded = reference.embedded
    return SearchRequest(
        value=reference.value,
        folder=reference.folder,
        embedded_url=embedded.url if embedded else None,
        embedded_hash=embedded.hash if embedded else None,
        embedded_hash_type=embedded.hash_type if embedded else None,
        folder_entry=reference.lookup == "folder",
    )


def embedded_sources(workflows: Sequence[Assessment]) -> KnownSources:
    """Every model URL that a watched workflow embeds, as known sources."""
    known = KnownSources()
    for assessment in workflows:
        if assessment.parsed is None:
            continue
        for model in assessment.parsed.embedded_models:
            if model.url:
                known.add_model(
                    model.name,
                    model.url,
                    model.directory,
                    model.hash,
                    model.hash_type,
                    source=f"workflow {assessment.path.name}",
                )
    return known


def resolve_missing_models(
    services: Services,
    root: Path,
    needs: NeedsResult,
    now: str,
    on_progress: Callable[[int, int], None] | None = None,
    failures: CacheFailures | None = None,
) -> Resolutions:
    """The resolve stage: resolve each unique missing model (by key) once, through the
    resolver ``services`` builds (the install's known sources, the URLs the workflows
    embed, then the backends unless offline); return the results by model key.

    Results answered locally this cycle (a known source, offline) carry no time of their
    own: they are stamped ``now``. A set stop event ends resolution early: unresolved
    models come back ERROR ``interrupted`` without further requests. ``on_progress`` is
    called with (done, total) after each unique model. The resolution cache is saved
    through ``failures`` (``stages/cache_failures``: a failure is the cycle's warning);
    without it, a failure is only logged.
    """
    requests = _requests_most_needed_first(needs)
    if not requests:
        return Resolutions(MappingProxyType({}), None)
    with services.resolver(root, embedded_sources(needs.workflows)) as resolver:
        results = resolver.search_multiple_models(
            list(requests.values()), on_done=on_progress, save_cache=failures is None
        )
        deferred = resolver.deferred
        cache = resolver.cache
        if failures is not None and cache is not None:
            failures.write("resolution cache", cache.path, cache.save, False)
    by_key = {}
    for key, request in requests.items():
        result = results.get(request.key)
        if result is not None:
            by_key[key] = result if result.resolved_at else replace(result, resolved_at=now)
    note = OFFLINE_NOTE if services.offline else None
    if deferred:
        note = (
            f"{deferred} of {len(requests)} missing models wait for the next cycle: this "
            "cycle's search budget was spent (search.max_models_per_cycle, "
            "search.max_minutes_per_cycle)"
        )
    return Resolutions(MappingProxyType(by_key), note, deferred)


def _requests_most_needed_first(needs: NeedsResult) -> dict[ModelKey, SearchRequest]:
    """One request per missing model's key, those more workflows need first (ties in the
    order the workflows name them)."""
    requests: dict[ModelKey, SearchRequest] = {}
    workflows_needing: Counter[ModelKey] = Counter()
    for assessment in needs.workflows:
        if assessment.needs is None:
            continue
        keys = set()
        for need in assessment.needs.missing_models:
            if need.to_fetch:
                requests.setdefault(need.key, search_request(need))
                keys.add(need.key)
        workflows_needing.update(keys)
    ranked = sorted(requests, key=lambda key: -workflows_needing[key])
    return {key: requests[key] for key in ranked}


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
    """
    with services.resolver(comfyui_root, more_sources) as resolver:
        return resolver.search(request)
