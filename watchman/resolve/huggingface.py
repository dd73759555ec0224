"""Hugging Face: search repositories by terms from the file name, list each candidate
repository's files (recursive tree, with LFS sha256 and size), accept an exact file name."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway, HttpStatusError
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for
from watchman.resolve.names import file_name_of, loose_key, same_file_name, search_terms

logger = logging.getLogger(__name__)

NAME = "huggingface"
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)
_MAX_TREE_PAGES = 20
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class RepoFile:
    """One file of a repository tree."""

    repo: str
    path: str
    size: int | None
    sha256: str | None


class GatedRepoError(BackendError):
    """A repository refused its listing (gated or private)."""


class HuggingFaceBackend:
    """Searches the Hugging Face Hub through an ``HttpGateway``."""

    name = NAME

    def __init__(
        self,
        gateway: HttpGateway,
        base_url: str,
        *,
        max_repos: int = 5,
        max_search_terms: int = 4,
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.max_repos = max_repos
        self.max_search_terms = max_search_terms

    def search(self, request: SearchRequest) -> SearchResult:
        """Find ``request`` in the repositories the Hub's search names.

        Returns:
            FOUND for an exact file name in a listing, UNCERTAIN with near names, else
            NOT_FOUND.

        Raises:
            BackendError: the Hub could not answer, or (``gated``) a candidate repository
                refused its listing and no other one had the file.
        """
        repos: list[str] = []
        for term in search_terms(request.file_name, self.max_search_terms):
            for repo in self.search_repos(term):
                if repo not in repos and len(repos) < self.max_repos:
                    repos.append(repo)
            if len(repos) >= self.max_repos:
                break
        near: list[Candidate] = []
        gated: list[str] = []
        for repo in repos:
            try:
                found = self.check_repo(request, repo, near)
            except GatedRepoError:
                gated.append(repo)
                continue
            if found is not None:
                return found
        if gated and not near:
            raise GatedRepoError(
                f"Hugging Face repositories {', '.join(gated)} are gated; accept their terms "
                "and set HF_TOKEN to search them.",
                "gated",
            )
        if near:
            return result_for(
                request,
                Status.UNCERTAIN,
                NAME,
                candidates=tuple(near),
                detail="Hugging Face lists similar file names but not this exact one.",
            )
        return result_for(
            request, Status.NOT_FOUND, NAME, detail="No Hugging Face repository lists this file."
        )

    def search_repos(self, term: str) -> list[str]:
        """Return repository ids the Hub's model search gives for ``term``.

        Raises:
            BackendError: the Hub could not answer.
        """
        answer = self.gateway.get_json(
            f"{self.base_url}/api/models", params={"search": term, "limit": self.max_repos}
        )
        repos: list[str] = []
        for item in answer.data if isinstance(answer.data, list) else []:
            if not isinstance(item, dict):
                continue
            repo = item.get("id") or item.get("modelId")
            if isinstance(repo, str) and _REPO_ID.match(repo) and repo not in repos:
                repos.append(repo)
        return repos

    def check_repo(
        self, request: SearchRequest, repo: str, near: list[Candidate]
    ) -> SearchResult | None:
        """Look for the exact file in one repository's listing; add near names to ``near``.

        Raises:
            GatedRepoError: the listing needs accepted terms or a token.
            BackendError: the Hub could not answer (``not_found`` for an unknown repo).
        """
        wanted_loose = loose_key(request.file_name)
        for listed in self.list_files(repo):
            url = self.resolve_url(repo, listed.path)
            if same_file_name(listed.path, request.file_name):
                return result_for(
                    request,
                    Status.FOUND,
                    NAME,
                    download_url=url,
                    size=listed.size,
                    sha256=listed.sha256,
                    detail=f"Hugging Face repository {repo} lists {listed.path}.",
                )
            if loose_key(listed.path) == wanted_loose:
                near.append(Candidate(file_name_of(listed.path), url, NAME, f"near name in {repo}"))
        return None

    def list_files(self, repo: str) -> Iterator[RepoFile]:
        """Yield every file of ``repo`` at ``main``, following ``Link: rel=next`` pages.

        Raises:
            GatedRepoError: HTTP 401/403 on the listing.
            BackendError: the Hub could not answer.
        """
        url: str | None = f"{self.base_url}/api/models/{_quote_repo(repo)}/tree/main"
        params: dict[str, Any] | None = {"recursive": "true"}
        for _ in range(_MAX_TREE_PAGES):
            if url is None:
                return
            try:
                answer = self.gateway.get_json(url, params=params)
            except HttpStatusError as error:
                if error.status_code in (401, 403):
                    raise GatedRepoError(
                        f"Hugging Face repository {repo} is gated or private.", "gated"
                    ) from None
                raise
            for entry in answer.data if isinstance(answer.data, list) else []:
                parsed = _repo_file(repo, entry)
                if parsed is not None:
                    yield parsed
            link = _NEXT_LINK.search(answer.headers.get("link", ""))
            # A relative next link is taken from the page that gave it.
            url = str(httpx.URL(answer.url).join(link.group(1))) if link else None
            params = None

    def resolve_url(self, repo: str, path: str) -> str:
        """Return the download URL of a file in a repository at ``main``."""
        return f"{self.base_url}/{_quote_repo(repo)}/resolve/main/{quote(path)}"


def _repo_file(repo: str, entry: Any) -> RepoFile | None:
    if not isinstance(entry, dict) or entry.get("type", "file") != "file":
        return None
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        return None
    lfs = _as_dict(entry.get("lfs"))
    size = lfs.get("size", entry.get("size"))
    sha256 = lfs.get("oid") if isinstance(lfs.get("oid"), str) else None
    return RepoFile(
        repo=repo,
        path=path,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        sha256=sha256.lower() if sha256 and len(sha256) == 64 else None,
    )


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _quote_repo(repo: str) -> str:
    return "/".join(quote(part, safe="") for part in repo.split("/"))


def parse_resolve_url(url: str, base_url: str) -> tuple[str, str] | None:
    """Return ``(repo, path)`` of a ``{base}/{owner}/{name}/resolve/{revision}/{path}`` URL,
    or None for any other URL (used to check an LLM's claim against the listing)."""
    base = base_url.rstrip("/")
    if not url.startswith(f"{base}/"):
        return None
    parts = url[len(base) + 1 :].split("?", 1)[0].split("/")
    if len(parts) < 5 or parts[2] not in ("resolve", "blob"):
        return None
    return f"{parts[0]}/{parts[1]}", "/".join(parts[4:])
