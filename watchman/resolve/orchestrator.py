"""The resolver: known sources first, then the remote backends in order, with a cache.

For each unique request: a known source naming the exact file answers at once; else
(unless offline) the backends run in order, stopping at the first FOUND and keeping the
candidates of every UNCERTAIN. Each backend's own answer is cached under its own key and
time-to-live, so one backend that is down (an Ollama not running) never shortens how long
the others' answers are kept; a fresh cached FOUND of any backend in the order answers
without a request. A backend that fails never stops the others, and one found
unreachable, timed out, failing with 5xx or rate limited is marked down for the rest of
the run (``health.HealthBoard``, shared with Qwen's tool calls), so a dead service costs
one failure, not one per model. A stop event, once set, turns every model not yet resolved
into ``ERROR interrupted`` without a request, and such a result is never cached. A
search budget (``budget.SearchBudget``: models and minutes per run) turns the models past
it into ``ERROR deferred``, never cached either. A request for a model folder asks no
source at all (``model_folders``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime
from types import TracebackType

from watchman.errors import BackendError
from watchman.resolve.budget import DEFERRED, SearchBudget
from watchman.resolve.cache import ResolutionCache, backend_key
from watchman.resolve.health import HealthBoard
from watchman.resolve.known_sources import KnownSources
from watchman.resolve.model import Backend, SearchRequest, SearchResult, Status, result_for
from watchman.resolve.model_folders import folder_result

logger = logging.getLogger(__name__)

# The reason of a result cut short by a stop; never cached.
INTERRUPTED = "interrupted"


class Resolver:
    """Resolves missing models; a context manager whose ``close`` closes what it opened."""

    def __init__(
        self,
        *,
        known_sources: KnownSources,
        backends: Mapping[str, Backend],
        backend_order: Sequence[str],
        cache: ResolutionCache | None = None,
        offline: bool = False,
        max_parallel_models: int = 4,
        closers: Sequence[Callable[[], None]] = (),
        stop_event: threading.Event | None = None,
        health: HealthBoard | None = None,
        budget: SearchBudget | None = None,
        now: Callable[[], datetime],
    ) -> None:
        self.known_sources = known_sources
        self.backends = dict(backends)
        self.offline = offline
        # The names were checked once, by the settings model (search.backend_order,
        # --backends); here only that each has a backend to ask.
        self.backend_order = tuple(dict.fromkeys(backend_order))
        missing = [name for name in self.backend_order if name not in self.backends]
        if missing and not offline:
            raise ValueError(f"No backend object for {', '.join(missing)} in this resolver.")
        self.cache = cache
        self.max_parallel_models = max(1, max_parallel_models)
        self._closers = list(closers)
        self.stop_event = stop_event
        self._now = now
        self.health = health or HealthBoard(self.backends, now)
        self.budget = budget
        if cache is not None:
            cache.load()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP clients this resolver created (never an injected one)."""
        while self._closers:
            self._closers.pop()()

    def search_multiple_models(
        self,
        requests: Sequence[SearchRequest],
        on_done: Callable[[int, int], None] | None = None,
        save_cache: bool = True,
    ) -> dict[str, SearchResult]:
        """Resolve each unique request (by ``request.key``), several at a time.

        Args:
            requests: the missing models; repeats of a key are resolved once.
            on_done: called (from the calling thread) with how many unique requests are
                done and how many there are, after each one (a progress display).
            save_cache: save the resolution cache afterwards (a failure is logged);
                False: the caller saves it (``cache.save``), to record a failure its
                own way (the cycle: ``stages/cache_failures``).

        Returns:
            ``{request.key: SearchResult}``.
        """
        order = self.backend_order
        unique: dict[str, SearchRequest] = {}
        for request in requests:
            unique.setdefault(request.key, request)
        if not unique:
            return {}
        results: dict[str, SearchResult] = {}
        if self.offline or not order:
            # Every answer is local (known sources, the offline verdict): threads would
            # only add a hand-off per model (2,000 at 5,000 workflows).
            for key, request in unique.items():
                results[key] = self._resolve(request, order)
                if on_done is not None:
                    on_done(len(results), len(unique))
            return self._saved(results, save_cache)
        workers = min(self.max_parallel_models, len(unique))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resolve") as pool:
            futures = {
                pool.submit(self._resolve, request, order): key for key, request in unique.items()
            }
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_done is not None:
                    on_done(len(results), len(unique))
            results = {key: results[key] for key in unique}
        return self._saved(results, save_cache)

    def _saved(self, results: dict[str, SearchResult], save: bool) -> dict[str, SearchResult]:
        # The cache learned from this call's answers: kept for the next cycle.
        if self.cache is not None and save:
            try:
                self.cache.save()
            except OSError as error:
                logger.warning("Cannot save the resolution cache %s: %s", self.cache.path, error)
        return results

    @property
    def deferred(self) -> int:
        """How many models the search budget held back in this resolver's run."""
        return self.budget.deferred if self.budget is not None else 0

    def search(self, request: SearchRequest) -> SearchResult:
        """Resolve one request (see ``search_multiple_models``)."""
        return self.search_multiple_models([request])[request.key]

    def _resolve(self, request: SearchRequest, order: Sequence[str]) -> SearchResult:
        if request.folder_entry:
            # A model folder is no file any source lists: never a file's FOUND.
            return folder_result(request)
        known = self.known_sources.lookup(request)
        if known is None:
            return self._remote(request, order)
        if known.status is Status.FOUND or self.offline or not order:
            return known
        # The catalogues doubt (a contradicting folder, several files of the name): a
        # backend's own listing may still settle it by the same rules; its candidates
        # are shown beside the catalogues' either way.
        remote = self._remote(request, order)
        if remote.status is Status.FOUND:
            return replace(remote, candidates=remote.candidates + known.candidates)
        if remote.reason == INTERRUPTED:
            return remote
        if remote.reason == DEFERRED:
            # Not asked yet: the catalogues' doubt stands, with their candidates.
            return known
        return replace(
            known,
            candidates=known.candidates + remote.candidates,
            errors=remote.errors,
            resolved_at=remote.resolved_at,
        )

    def _remote(self, request: SearchRequest, order: Sequence[str]) -> SearchResult:
        if self.offline:
            return result_for(
                request,
                Status.NOT_FOUND,
                None,
                reason="offline",
                detail="Offline: no known source names this file and no remote backend was asked.",
            )
        if not order:
            return result_for(
                request,
                Status.NOT_FOUND,
                None,
                reason="no backend ran",
                detail="No known source names this file and no remote backend is configured.",
            )
        cached = self._cached(request, order)
        for name in order:
            hit = cached.get(name)
            # A FOUND verified by a listing is final, whoever gave it: asking the backends
            # before it again would only cost requests.
            if hit is not None and hit.status is Status.FOUND:
                return hit
        asks = any(name not in cached for name in order)
        if self._stopped() and asks:
            return _interrupted(request, ())
        if asks and self.budget is not None:
            # Spent per model, not per request: a model's backends are asked together.
            held_back = self.budget.take()
            if held_back is not None:
                return result_for(request, Status.ERROR, None, reason=DEFERRED, detail=held_back)
        return self._run_backends(request, order, cached)

    def _cached(self, request: SearchRequest, order: Sequence[str]) -> dict[str, SearchResult]:
        if self.cache is None:
            return {}
        found = {}
        for name in order:
            hit = self.cache.get(backend_key(request, name))
            if hit is not None:
                found[name] = hit
        return found

    def _answer(self, name: str, request: SearchRequest) -> SearchResult:
        """Ask one backend and cache its own answer under its own key."""
        outcome = replace(self._ask(name, request), resolved_at=_iso_seconds(self._now()))
        if self.cache is not None and outcome.reason not in (INTERRUPTED, DEFERRED):
            self.cache.put(
                backend_key(request, name), outcome, not_before=self.health.retry_at(name)
            )
        return outcome

    def _stopped(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def _run_backends(
        self,
        request: SearchRequest,
        order: Sequence[str],
        cached: Mapping[str, SearchResult],
    ) -> SearchResult:
        uncertain: list[SearchResult] = []
        searched: list[str] = []
        failures: list[SearchResult] = []
        stamps: list[str] = []
        for name in order:
            outcome = cached.get(name) or self._answer(name, request)
            if outcome.resolved_at:
                stamps.append(outcome.resolved_at)
            errors = tuple(f"{failure.backend}: {failure.reason}" for failure in failures)
            if outcome.status is Status.FOUND:
                return replace(outcome, errors=errors)
            # A backend cut short by a stop may have answered from half a search: the
            # model is unresolved, not NOT_FOUND or UNCERTAIN.
            if outcome.reason == INTERRUPTED or (name not in cached and self._stopped()):
                return _interrupted(request, errors)
            if outcome.status is Status.UNCERTAIN:
                uncertain.append(outcome)
            elif outcome.status is Status.NOT_FOUND:
                searched.append(name)
            else:
                failures.append(outcome)
        errors = tuple(f"{failure.backend}: {failure.reason}" for failure in failures)
        # The answer is as old as its newest part (stable while every part is cached).
        resolved_at = max(stamps, default=None)
        if uncertain:
            return result_for(
                request,
                Status.UNCERTAIN,
                ",".join(str(result.backend) for result in uncertain),
                candidates=tuple(c for result in uncertain for c in result.candidates),
                detail=" ".join(str(result.detail) for result in uncertain if result.detail),
                errors=errors,
                resolved_at=resolved_at,
            )
        if searched:
            return result_for(
                request,
                Status.NOT_FOUND,
                ",".join(searched),
                detail=f"Searched {', '.join(searched)}: no file of this exact name.",
                errors=errors,
                resolved_at=resolved_at,
            )
        first = failures[0]
        return replace(
            first,
            detail=" ".join(str(failure.detail) for failure in failures if failure.detail),
            errors=errors,
            resolved_at=resolved_at,
        )

    def _ask(self, name: str, request: SearchRequest) -> SearchResult:
        health = self.health.of(name)
        # Until a backend has answered once, one request probes it and the others wait,
        # so a dead service is found dead once rather than by every worker at the same time.
        guard = contextlib.nullcontext() if health.answered else health.lock
        with guard:
            if self._stopped():
                return _interrupted(request, ())
            down = self.health.down(name)
            if down is not None:
                return result_for(
                    request,
                    Status.ERROR,
                    name,
                    reason=down.reason,
                    detail=f"{name} was marked down earlier in this run: {down}",
                )
            try:
                return self.backends[name].search(request)
            except BackendError as error:
                self.health.record(name, error)
                if error.reason != INTERRUPTED:
                    logger.warning("%s could not answer for %s: %s", name, request.file_name, error)
                return result_for(
                    request, Status.ERROR, name, reason=error.reason, detail=str(error)
                )
            except Exception as error:
                # A backend's answer is untrusted input: whatever slipped past its parser
                # is this model's error from this backend, never the cycle's.
                logger.warning(
                    "%s answered something unreadable for %s: %s",
                    name,
                    request.file_name,
                    type(error).__name__,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                return result_for(
                    request,
                    Status.ERROR,
                    name,
                    reason="bad_response",
                    detail=f"{name} answered something that could not be read "
                    f"({type(error).__name__}).",
                )
            finally:
                health.answered = True


def _interrupted(request: SearchRequest, errors: tuple[str, ...]) -> SearchResult:
    return result_for(
        request,
        Status.ERROR,
        None,
        reason=INTERRUPTED,
        detail="A stop was asked for before this model was resolved.",
        errors=errors,
    )


def _iso_seconds(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
