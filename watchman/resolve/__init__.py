"""Resolution: where to get each missing model.

Known sources first (offline and free), then the remote backends in order (Qwen, Civitai,
Hugging Face), exact file names only, cached and polite. See ``docs/resolution.md``.
"""

from __future__ import annotations

from watchman.resolve.known_sources import KnownSources
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status
from watchman.resolve.orchestrator import Resolver
from watchman.resolve.wiring import build_resolver

__all__ = [
    "Candidate",
    "KnownSources",
    "Resolver",
    "SearchRequest",
    "SearchResult",
    "Status",
    "build_resolver",
]
