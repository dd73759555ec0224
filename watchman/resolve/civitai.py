"""Civitai: search models by terms derived from the file name, look versions up by hash,
and accept only an exact file-name match (case-insensitive) as FOUND. The same sha256 under
another name is a candidate (UNCERTAIN), not FOUND: the listing does not name this file.

Civitai's answers changed shape over the years, so every field but ids is read leniently:
absent, null or of another type means "unknown", never a crash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.resolve.choose import SEVERAL_FILES, Offer, Tie, choose
from watchman.resolve.civitai_listing import (
    CivitaiFile,
    as_list,
    files_of_models,
    files_of_version,
    image_version_ids,
    validate_civitai_image_response,
)
from watchman.resolve.model import (
    Candidate,
    SearchRequest,
    SearchResult,
    Status,
    result_for,
)
from watchman.resolve.names import loose_key, name_match, search_terms

logger = logging.getLogger(__name__)

NAME = "civitai"

_IMAGE_URL = re.compile(r"civitai\.com/images/(\d+)", re.IGNORECASE)
_MODEL_PAGE = re.compile(r"civitai\.com/models/(\d+)", re.IGNORECASE)
_VERSION_PARAMETER = re.compile(r"[?&]modelVersionId=(\d+)", re.IGNORECASE)
_MAX_IMAGE_VERSIONS = 8


class CivitaiBackend:
    """Searches Civitai through an ``HttpGateway`` (which carries the token, if any)."""

    name = NAME

    def __init__(
        self, gateway: HttpGateway, base_url: str, *, max_search_terms: int = 4, page_size: int = 20
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.max_search_terms = max_search_terms
        self.page_size = page_size

    def search(self, request: SearchRequest) -> SearchResult:
        """Find ``request`` on Civitai: by image, by hash, then by search terms.

        Returns:
            FOUND for an exact file name, UNCERTAIN with near names, else NOT_FOUND.

        Raises:
            BackendError: Civitai could not answer.
        """
        near: list[Candidate] = []
        image_match = _IMAGE_URL.search(request.embedded_url or "")
        if image_match:
            result = self._search_image(request, image_match.group(1), near)
            if result is not None:
                return result
        page = _MODEL_PAGE.search(request.embedded_url or "")
        if page:
            result = self._search_model_page(request, request.embedded_url or "", page, near)
            if result is not None:
                return result
        if request.embedded_hash:
            result = self._search_hash(request, request.embedded_hash, near)
            if result is not None:
                return result
        # The answers of every term are judged together: a second answer listing only one
        # of two different files the first one listed must not turn doubt into FOUND.
        listed: list[CivitaiFile] = []
        judged: list[Candidate] = []
        for term in search_terms(request.file_name, self.max_search_terms):
            listed += [item for item in self.query_files(term) if item not in listed]
            judged = []
            result = self.match_files(request, listed, judged)
            if result is not None:
                return result
            if _several_files(judged):
                break  # more answers can only add files, never remove the doubt
        return self.conclude(request, near + judged)

    def search_term(
        self, request: SearchRequest, term: str, near: list[Candidate]
    ) -> SearchResult | None:
        """Run one ``/api/v1/models`` search; return FOUND or None, adding near names.

        Raises:
            BackendError: Civitai could not answer.
        """
        return self.match_files(request, self.query_files(term), near)

    def query_files(self, term: str) -> list[CivitaiFile]:
        """Return the files of the model items one ``/api/v1/models`` search lists.

        Raises:
            BackendError: Civitai could not answer.
        """
        answer = self.gateway.get_json(
            f"{self.base_url}/api/v1/models", params={"query": term, "limit": self.page_size}
        )
        payload = answer.data if isinstance(answer.data, dict) else {}
        return list(files_of_models(as_list(payload.get("items"))))

    def lookup_model(
        self, request: SearchRequest, model_id: int, near: list[Candidate], *, tied: Tie = Tie.NONE
    ) -> SearchResult | None:
        """Check one model's own listing (``/api/v1/models/{id}``) for the exact file.

        ``tied``: ``Tie.LOOKUP`` when the workflow itself names this model (its page URL);
        a model id from a search or a proposal ties nothing.

        Raises:
            BackendError: Civitai could not answer (``not_found`` for an unknown id).
        """
        answer = self.gateway.get_json(f"{self.base_url}/api/v1/models/{model_id}")
        return self.match_files(request, files_of_models([answer.data]), near, tied=tied)

    def _search_model_page(
        self, request: SearchRequest, url: str, page: re.Match[str], near: list[Candidate]
    ) -> SearchResult | None:
        # The workflow names a model page (with a version, often): that listing is tied to
        # the request, as a hash lookup is. A page that is gone is no answer, not an error.
        version = _VERSION_PARAMETER.search(url)
        try:
            if version:
                answer = self.gateway.get_json(
                    f"{self.base_url}/api/v1/model-versions/{version.group(1)}"
                )
                return self.match_files(
                    request, files_of_version(answer.data, None), near, tied=Tie.LOOKUP
                )
            return self.lookup_model(request, int(page.group(1)[:19]), near, tied=Tie.LOOKUP)
        except BackendError as error:
            if error.reason == "not_found":
                return None
            raise

    def conclude(self, request: SearchRequest, near: list[Candidate]) -> SearchResult:
        """Return UNCERTAIN with the near names seen, or NOT_FOUND when there were none."""
        if near:
            same_bytes = any((c.note or "").startswith("same sha256") for c in near)
            named = any(name_match(c.file_name, request.file_name) for c in near)
            return result_for(
                request,
                Status.UNCERTAIN,
                NAME,
                candidates=tuple(_unique(near)),
                detail=(
                    "Civitai lists a file with the same sha256 under another name, but not "
                    "this exact file name."
                    if same_bytes
                    else "Civitai lists files of this name, but none is surely the one: "
                    + "; ".join(dict.fromkeys(c.note or "" for c in near if c.note))[:600]
                    if named
                    else "Civitai lists similar file names but not this exact one."
                ),
            )
        return result_for(
            request, Status.NOT_FOUND, NAME, detail="Civitai lists no file of this name."
        )

    def _search_hash(
        self, request: SearchRequest, file_hash: str, near: list[Candidate]
    ) -> SearchResult | None:
        try:
            answer = self.gateway.get_json(
                f"{self.base_url}/api/v1/model-versions/by-hash/{file_hash}"
            )
        except BackendError as error:
            if error.reason == "not_found":
                return None
            raise
        files = list(files_of_version(answer.data, None))
        found = self.match_files(request, files, near, tied=Tie.LOOKUP)
        if found is not None:
            return found
        wanted = file_hash.lower()
        # The same bytes under another name are the best candidate, but not FOUND: FOUND
        # means the listing names this exact file, and a loader asks for it by name.
        same_bytes = [listed for listed in files if listed.sha256 and listed.sha256 == wanted]
        near.extend(
            _candidate(listed, f"same sha256, listed as {listed.name}") for listed in same_bytes
        )
        same_ids = {id(listed) for listed in same_bytes}  # a list's "in": quadratic
        near.extend(
            _candidate(listed, "same hash on Civitai")
            for listed in files
            if id(listed) not in same_ids
        )
        return None

    def _search_image(
        self, request: SearchRequest, image_id: str, near: list[Candidate]
    ) -> SearchResult | None:
        url = f"{self.base_url}/api/v1/images"
        answer = self.gateway.get_json(url, params={"imageId": image_id})
        if not validate_civitai_image_response(image_id, answer.data, answer.url):
            return result_for(
                request,
                Status.NOT_FOUND,
                NAME,
                reason="image_mismatch",
                detail=f"Civitai's images API did not answer about image {image_id}.",
            )
        item = as_list(answer.data.get("items"))[0]
        for version_id in image_version_ids(item)[:_MAX_IMAGE_VERSIONS]:
            try:
                version = self.gateway.get_json(
                    f"{self.base_url}/api/v1/model-versions/{version_id}"
                )
            except BackendError as error:
                if error.reason == "not_found":
                    continue
                raise
            found = self.match_files(
                request, files_of_version(version.data, None), near, tied=Tie.LOOKUP
            )
            if found is not None:
                return found
        return None

    def match_files(
        self,
        request: SearchRequest,
        files: Iterable[CivitaiFile],
        near: list[Candidate],
        *,
        tied: Tie = Tie.NONE,
    ) -> SearchResult | None:
        """Judge one answer's files by the rules of ``choose``: return FOUND, or None
        with every file of this name (and every near name) added to ``near``.

        ``tied``: the answer came from a lookup that ties it to the request (its hash, its
        image), not from a search by name; only such an answer may name a generic file.
        """
        listed = list(files)
        offers = [_offer(item, tied) for item in listed]
        choice = choose(request, offers)
        if choice.found is not None:
            found = choice.found
            return choice.result(request, NAME, f"Civitai lists {found.name}{_of_model(found)}.")
        near.extend(choice.candidates)
        wanted_loose = loose_key(request.file_name)
        near.extend(
            _candidate(item, "near name on Civitai")
            for item in listed
            if name_match(item.name, request.file_name) is None
            and loose_key(item.name) == wanted_loose
        )
        return None


def _several_files(candidates: Iterable[Candidate]) -> bool:
    return any((candidate.note or "").startswith(SEVERAL_FILES) for candidate in candidates)


def _offer(listed: CivitaiFile, tied: Tie) -> Offer:
    return Offer(
        name=listed.name,
        url=listed.download_url,
        source=NAME,
        claim=listed.claim,
        size=listed.size,
        sha256=listed.sha256,
        tied=tied,
        primary=listed.primary,
        note=f"model {listed.model_name}" if listed.model_name else "",
    )


def _of_model(offer: Offer) -> str:
    return f" ({offer.note})" if offer.note else ""


def _candidate(listed: CivitaiFile, note: str) -> Candidate:
    model = f" (model {listed.model_name})" if listed.model_name else ""
    return Candidate(listed.name, listed.download_url, NAME, f"{note}{model}")


def _unique(candidates: Iterable[Candidate]) -> Iterator[Candidate]:
    seen: set[tuple[str, str | None]] = set()
    for candidate in candidates:
        key = (candidate.file_name, candidate.url)
        if key not in seen:
            seen.add(key)
            yield candidate
