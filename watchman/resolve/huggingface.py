"""Hugging Face: search repositories by terms from the file name, list each candidate
repository's files (recursive tree, with LFS sha256 and size), and judge them by the rules
of ``choose``: the exact name, the folder a repository path implies (``vae/``,
``text_encoder/`` ...), never a generic name found by searching.

A candidate repository that answers 404, 5xx or garbage is skipped, not fatal; a search
result that is not a valid repository id is never asked for; a ``next`` page on another
host is not followed. A FOUND file's repository metadata says whether it is gated: such a
file is FOUND with reason ``auth_required``, so a person knows before downloading.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.http_errors import HttpStatusError
from watchman.remote.origins import credentials_key
from watchman.resolve.choose import Offer, choose
from watchman.resolve.evidence import hub_claim
from watchman.resolve.model import (
    Candidate,
    SearchRequest,
    SearchResult,
    Status,
    as_sha256,
    result_for,
)
from watchman.resolve.names import file_name_of, loose_key, name_match, search_terms

logger = logging.getLogger(__name__)

NAME = "huggingface"
# No "<" inside the brackets: each start then reads only to the next one, never to the
# end of a hostile header of "<"s (linear, not quadratic).
_NEXT_LINK = re.compile(r'<([^<>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)
_MAX_TREE_PAGES = 20
# The Hub's rule for a namespace and a repository name: letters, digits, "-", "_", ".",
# neither starting nor ending with "-" or ".", no "--" or "..", at most 96 characters.
_REPO_PART = re.compile(r"^(?!.*(?:--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
# No model file is a petabyte; a larger size is a broken field.
_MAX_SIZE = 1024**5


def valid_repo_id(repo: Any) -> bool:
    """Return True for a Hub repository id ``owner/name`` that is safe to put in a URL."""
    if not isinstance(repo, str) or repo.count("/") != 1:
        return False
    owner, name = repo.split("/")
    return bool(_REPO_PART.match(owner) and _REPO_PART.match(name))


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
    """Searches the Hugging Face Hub through an ``HttpGateway``.

    ``token_configured`` says whether a token goes with the requests, so a gated file's
    result can say whether the download will work as configured.
    """

    name = NAME

    def __init__(
        self,
        gateway: HttpGateway,
        base_url: str,
        *,
        max_repos: int = 5,
        max_search_terms: int = 4,
        token_configured: bool = False,
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.max_repos = max_repos
        self.max_search_terms = max_search_terms
        self.token_configured = token_configured

    def search(self, request: SearchRequest) -> SearchResult:
        """Find ``request`` in the repositories the Hub's search names.

        Every candidate repository's listing is read, so two repositories holding
        different files of one name make the answer UNCERTAIN rather than a guess.

        Returns:
            FOUND for one file that passes every rule, UNCERTAIN with the files of this
            name (or near names), else NOT_FOUND.

        Raises:
            BackendError: the Hub's search could not answer, every candidate repository
                failed, or (``gated``) candidate repositories refused their listing and
                no other one had the file.
        """
        repos: list[str] = []
        for term in search_terms(request.file_name, self.max_search_terms):
            for repo in self.search_repos(term):
                if repo not in repos and len(repos) < self.max_repos:
                    repos.append(repo)
            if len(repos) >= self.max_repos:
                break
        offers: list[Offer] = []
        listed: list[RepoFile] = []
        gated: list[str] = []
        failures: list[BackendError] = []
        for repo in repos:
            try:
                files = list(self.list_files(repo))
            except GatedRepoError:
                gated.append(repo)
                continue
            except BackendError as error:
                if error.reason == "interrupted":
                    raise
                # One bad candidate (gone, broken, answering garbage) is not the Hub.
                logger.info("Skipping Hugging Face repository %s: %s", repo, error)
                failures.append(error)
                continue
            listed += files
            offers += [self._offer(item) for item in files]
        choice = choose(request, offers)
        if choice.found is not None:
            return self._found(request, choice.found, listed, choice.candidates)
        near = list(choice.candidates) + self._near(request, listed)
        if near:
            return result_for(
                request,
                Status.UNCERTAIN,
                NAME,
                candidates=tuple(near),
                detail=choice.reason
                or "Hugging Face lists similar file names but not this exact one.",
            )
        if gated:
            raise GatedRepoError(
                f"Hugging Face repositories {', '.join(gated)} are gated; accept their terms "
                "and set HF_TOKEN to search them.",
                "gated",
            )
        if failures and len(failures) == len(repos):
            raise failures[0]
        return result_for(
            request, Status.NOT_FOUND, NAME, detail="No Hugging Face repository lists this file."
        )

    def search_repos(self, term: str) -> list[str]:
        """Return the valid repository ids the Hub's model search gives for ``term``.

        Raises:
            BackendError: the Hub could not answer.
        """
        answer = self.gateway.get_json(
            f"{self.base_url}/api/models", params={"search": term, "limit": self.max_repos}
        )
        repos: dict[str, None] = {}  # unique in order; a server's long list stays linear
        for item in answer.data if isinstance(answer.data, list) else []:
            if not isinstance(item, dict):
                continue
            repo = item.get("id") or item.get("modelId")
            if isinstance(repo, str) and valid_repo_id(repo):
                repos[repo] = None
        return list(repos)

    def check_repo(
        self, request: SearchRequest, repo: str, near: list[Candidate]
    ) -> SearchResult | None:
        """Look for the file in one repository's listing (a repository named by a search
        or a proposal, never by the workflow); add the other files of this name and near
        names to ``near``.

        Raises:
            GatedRepoError: the listing needs accepted terms or a token.
            BackendError: the Hub could not answer (``not_found`` for an unknown repo,
                ``bad_response`` for an invalid repository id).
        """
        if not valid_repo_id(repo):
            raise BackendError(
                f"{repo[:80]!r} is not a Hugging Face repository id.", "bad_response"
            )
        files = list(self.list_files(repo))
        choice = choose(request, [self._offer(item) for item in files])
        if choice.found is not None:
            return self._found(request, choice.found, files, choice.candidates)
        near.extend(choice.candidates)
        near.extend(self._near(request, files))
        return None

    def list_files(self, repo: str) -> Iterator[RepoFile]:
        """Yield every file of ``repo`` at ``main``, following ``Link: rel=next`` pages on
        the Hub's own origin only.

        Raises:
            GatedRepoError: HTTP 401/403 on the listing.
            BackendError: the Hub could not answer.
        """
        url: str | None = f"{self.base_url}/api/models/{_quote_repo(repo)}/tree/main"
        params: dict[str, Any] | None = {"recursive": "true"}
        origin = credentials_key(self.base_url)
        for _ in range(_MAX_TREE_PAGES):
            if url is None:
                return
            try:
                # One repository answering 5xx for good is that repository's fault, not
                # the Hub's: the next candidate is still asked.
                answer = self.gateway.get_json(url, params=params, marks_host_down=False)
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
            url = _join(answer.url, link.group(1)) if link else None
            if url is not None and credentials_key(url) != origin:
                # A page elsewhere would list files the Hub never listed.
                logger.warning(
                    "Not following a next page of %s on another host: %s", repo, url[:200]
                )
                return
            params = None

    def gated(self, repo: str) -> str | None:
        """Return the repository's gating (``auto`` or ``manual``), ``""`` when it is not
        gated, or None when its metadata could not be read.

        Raises:
            BackendError: only ``interrupted`` (a stop was asked for).
        """
        try:
            answer = self.gateway.get_json(f"{self.base_url}/api/models/{_quote_repo(repo)}")
        except BackendError as error:
            if error.reason == "interrupted":
                raise
            logger.info("Cannot read the metadata of %s: %s", repo, error)
            return None
        data = answer.data if isinstance(answer.data, dict) else {}
        value = data.get("gated")
        if value is True:
            return "manual"
        if isinstance(value, str) and value.strip().lower() in ("auto", "manual"):
            return value.strip().lower()
        return "" if value in (False, None) else None

    def resolve_url(self, repo: str, path: str) -> str:
        """Return the download URL of a file in a repository at ``main``."""
        return f"{self.base_url}/{_quote_repo(repo)}/resolve/main/{quote(path)}"

    def _offer(self, listed: RepoFile) -> Offer:
        return Offer(
            name=file_name_of(listed.path),
            url=self.resolve_url(listed.repo, listed.path),
            source=NAME,
            claim=hub_claim(listed.repo, listed.path),
            size=listed.size,
            sha256=listed.sha256,
            note=f"{listed.repo}: {listed.path}",
        )

    def _near(self, request: SearchRequest, files: list[RepoFile]) -> list[Candidate]:
        wanted_loose = loose_key(request.file_name)
        return [
            Candidate(
                file_name_of(item.path),
                self.resolve_url(item.repo, item.path),
                NAME,
                f"near name in {item.repo}",
            )
            for item in files
            if name_match(file_name_of(item.path), request.file_name) is None
            and loose_key(item.path) == wanted_loose
        ]

    def _found(
        self,
        request: SearchRequest,
        found: Offer,
        listed: list[RepoFile],
        candidates: tuple[Candidate, ...],
    ) -> SearchResult:
        item = next(item for item in listed if self.resolve_url(item.repo, item.path) == found.url)
        repo, path = item.repo, item.path
        gating = self.gated(repo)
        reason = None
        detail = f"Hugging Face repository {repo} lists {path}."
        if gating:
            reason = "auth_required"
            token = (
                "a token is configured (its account must have accepted the terms)"
                if self.token_configured
                else "no HF_TOKEN is configured, so the download will be refused"
            )
            detail += f" The repository is gated ({gating}): accept its terms on the Hub; {token}."
        elif gating is None:
            detail += " Whether it is gated is unknown (its metadata did not answer)."
        return result_for(
            request,
            Status.FOUND,
            NAME,
            folder=found.claim.folder,
            download_url=found.url,
            size=found.size,
            sha256=found.sha256,
            candidates=candidates,
            reason=reason,
            detail=detail,
        )


def _join(page_url: str, link: str) -> str | None:
    try:
        return str(httpx.URL(page_url).join(link))
    except (httpx.InvalidURL, ValueError):
        return None


def _repo_file(repo: str, entry: Any) -> RepoFile | None:
    if not isinstance(entry, dict) or entry.get("type", "file") != "file":
        return None
    path = entry.get("path")
    # A path with empty, "." or ".." parts is not a file of the repository.
    if not isinstance(path, str) or not path or len(path) > 1000:
        return None
    if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
        return None
    lfs = _as_dict(entry.get("lfs"))
    size = lfs.get("size", entry.get("size"))
    valid_size = isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= _MAX_SIZE
    return RepoFile(
        repo=repo,
        path=path,
        size=size if valid_size else None,
        sha256=as_sha256(lfs.get("oid")),
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
