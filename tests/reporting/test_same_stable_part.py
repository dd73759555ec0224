"""Comparing two reports without their volatile parts, without copying them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchman.reporting.document import same_stable_part, stable_part

KEYS = st.sampled_from(["cycle_id", "generated_at", "resolved_at", "status", "path", "a"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["x", "y"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=4)


@given(DOCUMENTS, DOCUMENTS)
def test_it_agrees_with_comparing_the_stable_parts(one: dict[str, Any], two: dict[str, Any]):
    assert same_stable_part(one, two) == (stable_part(one) == stable_part(two))


@given(DOCUMENTS)
def test_a_document_equals_itself_with_other_times(document: dict[str, Any]) -> None:
    later = {**document, "generated_at": "later", "cycle_id": "other"}
    assert same_stable_part(document, later)


def test_a_nested_time_is_ignored_and_a_nested_status_is_not() -> None:
    one = {"workflows": [{"path": "a", "status": "ready", "resolved_at": "1"}]}
    assert same_stable_part(one, {"workflows": [{"path": "a", "status": "ready"}]})
    assert not same_stable_part(one, {"workflows": [{"path": "a", "status": "missing_models"}]})
