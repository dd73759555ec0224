"""Choosing among the files a source offers: the one rule set every source answers by.

A source (a catalogue, a Civitai listing, a Hugging Face tree) offers files; ``choose``
decides whether one of them is, beyond doubt, the file the workflow needs:

1. the name: equal, or equal after ASCII lower-casing; an exact-case file wins over a
   case variant (``names.name_match``);
2. the folder: the offer's own folder evidence agrees with the loader's folder and the
   value's subfolder (``evidence.contradiction``);
3. a generic name (``model.safetensors``) only from an offer tied to the request (an
   embedded URL, a hash lookup, a catalogue entry of exactly this folder and subfolder),
   never from a search by name;
4. among several acceptable offers: the workflow's hash first, then Civitai's primary
   file, then the one whose type names exactly the loader's folder; different files
   left over make the answer UNCERTAIN, listing them all;
5. a sha256 the workflow gives must agree with the offer's.

FOUND only when exactly one file (by sha256, else by URL) survives; an offer that fails a
rule becomes a candidate with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watchman.resolve.evidence import FolderClaim, contradiction, same_folder, ties_to_request
from watchman.resolve.model import Candidate, SearchRequest, SearchResult, Status, result_for
from watchman.resolve.names import NameMatch, is_generic_name, name_match
from watchman.resolve.urls import download_key

SEVERAL_FILES = "one of several different files of this name"
"""The note of each candidate of an answer that names different files: more answers can
only add files, so a searcher may stop asking."""


class Tie(enum.Enum):
    """How a source ties a listed name to the request beyond the name itself."""

    NONE = "none"  # a search by name: the name is all there is
    LOOKUP = "lookup"  # found through the request's own hash or image
    CATALOGUE = "catalogue"  # an entry that names its folder (and subfolder)


@dataclass(frozen=True)
class Offer:
    """One file a source lists.

    ``name`` is the file name exactly as listed; ``claim`` the source's folder evidence;
    ``tied`` how the source ties this name to the request (``Tie``); ``primary`` Civitai's
    primary flag, None when the source has none; ``note`` says where the offer comes
    from, for a person.
    """

    name: str
    url: str | None
    source: str
    claim: FolderClaim
    size: int | None = None
    sha256: str | None = None
    tied: Tie = Tie.NONE
    primary: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Choice:
    """What ``choose`` decided: the FOUND offer (or None), and every other offer that
    matched the name, as candidates with their reason."""

    found: Offer | None
    candidates: tuple[Candidate, ...]
    reason: str | None

    def result(self, request: SearchRequest, backend: str, detail: str) -> SearchResult | None:
        """Return FOUND (with ``detail``), UNCERTAIN (with the reason), or None when no
        offer matched the name at all."""
        if self.found is not None:
            offer = self.found
            return result_for(
                request,
                Status.FOUND,
                backend,
                folder=offer.claim.folder,
                download_url=offer.url,
                size=offer.size,
                sha256=offer.sha256,
                candidates=self.candidates,
                detail=detail,
            )
        if not self.candidates:
            return None
        return result_for(
            request,
            Status.UNCERTAIN,
            backend,
            candidates=self.candidates,
            detail=self.reason,
        )


def choose(request: SearchRequest, offers: Iterable[Offer]) -> Choice:
    """Apply the rules above to ``offers`` for ``request``.

    Returns:
        A ``Choice``: ``found`` set only when one file survives every rule.
    """
    wanted = request.file_name
    exact: list[Offer] = []
    case: list[Offer] = []
    for offer in offers:
        match = name_match(offer.name, wanted)
        if match is NameMatch.EXACT:
            exact.append(offer)
        elif match is NameMatch.CASE:
            case.append(offer)
    if not exact and not case:
        return Choice(None, (), None)
    # An exact-case file wins: a case variant beside it is another file on a case-
    # sensitive disk, kept as a candidate only.
    matched = exact or case
    rejected: list[tuple[Offer, str]] = [
        (offer, f"only the case differs from {wanted}") for offer in (case if exact else [])
    ]
    acceptable: list[Offer] = []
    wanted_hash = request.sha256
    for offer in matched:
        problem = _problem(request, offer, wanted_hash)
        if problem is None:
            acceptable.append(offer)
        else:
            rejected.append((offer, problem))
    preferred = _prefer(request, acceptable, wanted_hash)
    groups = _distinct_files(preferred)
    # By identity: an offer equal to a preferred one is preferred itself (same fields),
    # and "in" on a list made thousands of same-named offers cost their square.
    preferred_ids = {id(offer) for offer in preferred}
    others = [offer for offer in acceptable if id(offer) not in preferred_ids]
    if len(groups) == 1:
        chosen = groups[0][0]
        candidates = [_candidate(o, "the same file at another URL") for o in groups[0][1:]]
        candidates += [_candidate(o, "a less preferred file of this name") for o in others]
        candidates += [_candidate(o, why) for o, why in rejected]
        return Choice(chosen, tuple(_unique(candidates)), None)
    candidates = [_candidate(o, SEVERAL_FILES) for o in preferred]
    candidates += [_candidate(o, "a less preferred file of this name") for o in others]
    candidates += [_candidate(o, why) for o, why in rejected]
    if groups:
        reason = f"{len(groups)} different files carry this name; none is known to be the one."
    elif len(rejected) == 1:
        reason = f"A file of this name is listed, but {rejected[0][1]}."
    else:
        reasons = "; ".join(dict.fromkeys(why for _, why in rejected))
        reason = f"Files of this name are listed, but none fits: {reasons}."
    return Choice(None, tuple(_unique(candidates)), reason)


def _problem(request: SearchRequest, offer: Offer, wanted_hash: str | None) -> str | None:
    conflict = contradiction(offer.claim, request.folder, request.subfolder)
    if conflict is not None:
        return conflict
    if wanted_hash and offer.sha256 and offer.sha256 != wanted_hash:
        return f"its sha256 {offer.sha256} is not the workflow's {wanted_hash}"
    if is_generic_name(request.file_name) and not _tied(request, offer):
        return (
            f"{request.file_name} is a generic name many repositories use, and this "
            "source found it by name only"
        )
    return None


def _tied(request: SearchRequest, offer: Offer) -> bool:
    # The workflow's own sha256 on the listed file ties it, whoever found it.
    if request.sha256 and offer.sha256 == request.sha256:
        return True
    if offer.tied is Tie.LOOKUP:
        return True
    # A catalogue entry ties a generic name only by naming exactly the loader's folder and
    # the value's subfolder (an entry naming no subfolder means the folder itself).
    return offer.tied is Tie.CATALOGUE and ties_to_request(
        offer.claim, request.folder, request.subfolder
    )


def _prefer(request: SearchRequest, offers: list[Offer], wanted_hash: str | None) -> list[Offer]:
    current = offers
    if wanted_hash:
        same = [offer for offer in current if offer.sha256 == wanted_hash]
        current = same or current
    primary = [offer for offer in current if offer.primary]
    current = primary or current
    if request.folder:
        folder = request.folder
        exact_type = [
            offer
            for offer in current
            if len(offer.claim.folders) == 1
            and same_folder(folder, next(iter(offer.claim.folders)))
        ]
        current = exact_type or current
    return current


def _distinct_files(offers: Sequence[Offer]) -> list[list[Offer]]:
    """Group offers that are provably one file: the same sha256 when both have one, else
    the same download (one URL with two sizes is one file listed carelessly, not two
    files). Each offer joins the first group holding a member it is the same file as,
    else starts a group.

    Indexed by sha256 and download key, so the work is linear: comparing each offer with
    every member made a catalogue of 4,000 same-named entries cost a minute."""
    groups: list[list[Offer]] = []
    first_with_sha: dict[str, int] = {}  # sha256 -> first group with a member of it
    first_at_url: dict[str, int] = {}  # download key -> first group with a member there
    first_unhashed_at_url: dict[str, int] = {}  # the same, members without a sha256
    for offer in offers:
        key = download_key(offer.url) if offer.url else None
        joins: list[int] = []
        if offer.sha256:
            # Two hashes decide alone; a member without one matches by download.
            if offer.sha256 in first_with_sha:
                joins.append(first_with_sha[offer.sha256])
            if key is not None and key in first_unhashed_at_url:
                joins.append(first_unhashed_at_url[key])
        elif key is not None and key in first_at_url:
            joins.append(first_at_url[key])
        if joins:
            index = min(joins)
            groups[index].append(offer)
        else:
            index = len(groups)
            groups.append([offer])
        # The lowest index: a member may join an earlier group after a later one has
        # a member with the same hash or download.
        if offer.sha256:
            first_with_sha[offer.sha256] = min(first_with_sha.get(offer.sha256, index), index)
        if key is not None:
            first_at_url[key] = min(first_at_url.get(key, index), index)
            if not offer.sha256:
                first_unhashed_at_url[key] = min(first_unhashed_at_url.get(key, index), index)
    return groups


def _candidate(offer: Offer, why: str) -> Candidate:
    note = f"{why} ({offer.note})" if offer.note else why
    return Candidate(offer.name, offer.url, offer.source, note)


def _unique(candidates: Iterable[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str | None, str]] = set()
    unique: list[Candidate] = []
    for candidate in candidates:
        key = (candidate.file_name, candidate.url, candidate.source)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique
