"""Properties of the one rule set (choose.py) over arbitrary offers: whatever a source
lists, a FOUND is always a file of this name, in an agreeing folder, with no contradicting
hash, tied when the name is generic, exact-case when one was acceptable, and alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.resolve.choose import Offer, Tie, _distinct_files, choose
from watchman.resolve.evidence import FolderClaim, contradiction
from watchman.resolve.model import SearchRequest
from watchman.resolve.names import is_generic_name, name_match
from watchman.resolve.urls import same_download

NAMES = [
    "x.safetensors",
    "X.safetensors",
    "x.SAFETENSORS",
    " x.safetensors",
    "x.safetensors ",
    "sub/x.safetensors",
    "../x.safetensors",
    "x.ckpt",
    "model.safetensors",
    "Model.safetensors",
    "straße.pt",
    "strasse.pt",
]
FOLDERS = ["loras", "checkpoints", "vae", "text_encoders", "clip", "diffusion_models"]
HASHES = [None, "aa" * 32, "bb" * 32]

claims = st.builds(
    FolderClaim,
    folders=st.frozensets(st.sampled_from(FOLDERS), max_size=2),
    subfolder=st.sampled_from([None, "", "sdxl", "SDXL", "flux"]),
    origin=st.just("test"),
)
offers = st.builds(
    Offer,
    name=st.sampled_from(NAMES),
    url=st.sampled_from(["https://a.invalid/1", "https://a.invalid/2", "https://b.invalid/1"]),
    source=st.just("test"),
    claim=claims,
    size=st.sampled_from([None, 1, 2]),
    sha256=st.sampled_from(HASHES),
    tied=st.sampled_from(list(Tie)),
    primary=st.sampled_from([None, False, True]),
)
requests = st.builds(
    SearchRequest,
    value=st.sampled_from(
        ["x.safetensors", "sdxl/x.safetensors", "model.safetensors", "straße.pt", "X.ckpt"]
    ),
    folder=st.sampled_from([None, *FOLDERS]),
    embedded_hash=st.sampled_from(HASHES),
)


@settings(max_examples=200, deadline=None)
@given(request=requests, listed=st.lists(offers, max_size=6))
def test_a_found_offer_always_satisfies_every_rule(
    request: SearchRequest, listed: list[Offer]
) -> None:
    choice = choose(request, listed)
    found = choice.found
    if found is None:
        return
    assert name_match(found.name, request.file_name) is not None
    assert contradiction(found.claim, request.folder, request.subfolder) is None
    if request.sha256 and found.sha256:
        assert found.sha256 == request.sha256
    if is_generic_name(request.file_name):
        assert found.tied is not Tie.NONE or found.sha256 == request.sha256
    if any(offer.name == request.file_name for offer in listed) and found.name != (
        request.file_name
    ):
        # A case variant won: only when every exact-case offer failed a rule.
        exact = [offer for offer in listed if offer.name == request.file_name]
        assert all(
            contradiction(offer.claim, request.folder, request.subfolder) is not None
            or (request.sha256 and offer.sha256 and offer.sha256 != request.sha256)
            or is_generic_name(request.file_name)
            for offer in exact
        )


@settings(max_examples=200, deadline=None)
@given(request=requests, listed=st.lists(offers, max_size=6))
def test_no_answer_with_two_different_acceptable_top_files_is_found(
    request: SearchRequest, listed: list[Offer]
) -> None:
    choice = choose(request, listed)
    if choice.found is None:
        return
    # The found file is never listed beside a different file (another sha256) of the same
    # name that is equally preferred: same exact case, primary and hash standing.
    rivals = [
        offer
        for offer in listed
        if offer.name == choice.found.name
        and offer.sha256
        and choice.found.sha256
        and offer.sha256 != choice.found.sha256
        and offer.claim == choice.found.claim
        and offer.tied == choice.found.tied
        and bool(offer.primary) == bool(choice.found.primary)
        and not request.sha256  # with a hash, a different one is rejected by rule 5
    ]
    assert rivals == []


def _one_file(left: Offer, right: Offer) -> bool:
    """The rule, pair by pair: equal hashes when both have one, else one download."""
    if left.sha256 and right.sha256:
        return left.sha256 == right.sha256
    return bool(left.url and right.url and same_download(left.url, right.url))


def _grouped_pair_by_pair(listed: list[Offer]) -> list[list[Offer]]:
    groups: list[list[Offer]] = []
    for offer in listed:
        for group in groups:
            if any(_one_file(offer, member) for member in group):
                group.append(offer)
                break
        else:
            groups.append([offer])
    return groups


grouping_offers = st.builds(
    Offer,
    name=st.just("x.safetensors"),
    url=st.sampled_from(
        [
            None,
            "https://huggingface.co/o/r/blob/main/x.safetensors",
            "https://huggingface.co/o/r/resolve/main/x.safetensors",
            "https://HF.co/o/r/resolve/main/x.safetensors?download=true",
            "https://b.invalid/x.safetensors",
        ]
    ),
    source=st.just("test"),
    claim=st.just(FolderClaim()),
    sha256=st.sampled_from(HASHES),
)


@settings(max_examples=500, deadline=None)
@given(listed=st.lists(grouping_offers, max_size=12))
def test_offers_are_grouped_into_files_as_the_pairwise_rule_groups_them(
    listed: list[Offer],
) -> None:
    assert [[id(o) for o in group] for group in _distinct_files(listed)] == [
        [id(o) for o in group] for group in _grouped_pair_by_pair(listed)
    ]


def test_thousands_of_same_named_files_are_one_uncertain_answer_listing_each() -> None:
    # A stranger's catalogue of 20,000 same-named files at as many URLs: compared pair by
    # pair this took hours; each is a candidate and none is FOUND.
    listed = [
        Offer(
            name="x.safetensors",
            url=f"https://a.invalid/{index}/x.safetensors",
            source="test",
            claim=FolderClaim(folders=frozenset({"loras"})),
            tied=Tie.CATALOGUE,
        )
        for index in range(20_000)
    ]
    choice = choose(SearchRequest("x.safetensors", "loras"), listed)
    assert choice.found is None
    assert len(choice.candidates) == 20_000
    assert choice.reason == "20000 different files carry this name; none is known to be the one."
