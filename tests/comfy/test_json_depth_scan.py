"""The text scan that bounds a workflow's JSON depth agrees with a walk of the decoded
document on any document, whatever its strings hold (brackets, quotes, backslashes)."""

from __future__ import annotations

import json
import tracemalloc

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.workflow_json import (
    MAX_JSON_DEPTH,
    decode_json,
    nesting_depth,
    outside_strings,
    text_nesting_depth,
)
from watchman.errors import WorkflowError

_TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\u00e9\U0001f600\n', max_size=12)
_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS)
def test_the_text_scan_measures_the_depth_a_walk_measures(document: object) -> None:
    for raw in (orjson.dumps(document), json.dumps(document, indent=1).encode()):
        assert text_nesting_depth(raw, MAX_JSON_DEPTH) == nesting_depth(document, MAX_JSON_DEPTH)


def test_brackets_and_escaped_quotes_inside_strings_do_not_count() -> None:
    raw = rb'{"a": "]]]}}}\\\"[[[", "b": ["\\\\", ["\"]"]]}'
    assert text_nesting_depth(raw, MAX_JSON_DEPTH) == 3
    assert nesting_depth(orjson.loads(raw), MAX_JSON_DEPTH) == 3


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1000])
def test_the_limit_holds_exactly_at_its_edge(depth: int) -> None:
    raw = b"[" * depth + b'"x"' + b"]" * depth
    if depth <= MAX_JSON_DEPTH:
        assert decode_json(raw, "edge.json") is not None
    else:
        with pytest.raises(WorkflowError, match="MAX_JSON_DEPTH"):
            decode_json(raw, "edge.json")
    assert text_nesting_depth(raw, MAX_JSON_DEPTH) == min(depth, MAX_JSON_DEPTH + 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="()", max_size=5), max_size=30), st.integers(1, 9))
def test_strings_are_dropped_alike_whatever_window_cuts_them(
    strings: list[str], window: int
) -> None:
    # Brackets outside strings and strings of brackets, alternating: what the scan sees.
    skeleton = "".join(f'({text})"{text}"' for text in strings).encode()
    expected = "".join(f"({text})" for text in strings).encode()
    assert outside_strings(skeleton, window) == expected


def test_millions_of_tiny_strings_cost_a_window_of_memory_not_an_object_each() -> None:
    skeleton = b'""()' * 300_000
    tracemalloc.start()
    try:
        assert outside_strings(skeleton) == b"()" * 300_000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One bytes object per string would be ~300,000 x 34 bytes (10 MB) and their list.
    assert peak < 4 * 1024 * 1024
