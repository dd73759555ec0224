"""Reading one JSON object member by member from its bytes in any pieces."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.remote.json_members import (
    OBJECT_BEGINS,
    MalformedJsonError,
    object_leaves,
    object_members,
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def pieces(body: bytes, cuts: list[int]) -> list[bytes]:
    """``body`` cut at ``cuts`` (any positions, a multi-byte character's middle too)."""
    edges = sorted({0, len(body), *(cut % (len(body) + 1) for cut in cuts)})
    return [body[start:end] for start, end in itertools.pairwise(edges)]


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=8), JSON, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=12),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
)
def test_any_object_in_any_pieces_gives_the_members_json_loads_gives(
    document: dict[str, Any], cuts: list[int], indent: int | None, ascii_only: bool
) -> None:
    body = json.dumps(document, indent=indent, ensure_ascii=ascii_only).encode()
    assert list(object_members(pieces(body, cuts))) == list(json.loads(body).items())


def test_a_number_cut_at_a_piece_boundary_is_read_whole() -> None:
    assert list(object_members([b'{"a": 12', b'345, "b": tr', b"ue}"])) == [
        ("a", 12345),
        ("b", True),
    ]


def test_a_large_member_spanning_many_pieces_is_read_whole() -> None:
    names = [f"folder/model_{n:06d}.safetensors" for n in range(20_000)]
    body = json.dumps({"Loader": {"input": {"required": {"name": [names, {}]}}}, "x": 1})
    chunks = pieces(body.encode(), list(range(0, len(body), 4096)))
    [(key, value), last] = list(object_members(chunks))
    assert key == "Loader"
    assert value["input"]["required"]["name"][0] == names
    assert last == ("x", 1)


def test_python_s_own_nan_and_infinity_are_read() -> None:
    # ComfyUI answers with Python's json.dumps, which writes them for a float default.
    [(_, value)] = list(object_members([b'{"n": [NaN, Infinity, -Infinity]}']))
    assert value[1] == float("inf") and value[2] == float("-inf") and value[0] != value[0]


def test_a_lone_surrogate_escape_becomes_a_replacement_character() -> None:
    # Python writes a file name that is not UTF-8 so; it must be writable again.
    body = json.dumps({"Loader": ["bad_\udcff.pt", "emoji_\U0001f600.pt"]}).encode()
    [(_, value)] = list(object_members([body]))
    assert value == ["bad_\ufffd.pt", "emoji_\U0001f600.pt"]
    assert json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_an_empty_object_and_whitespace_around_it_are_read() -> None:
    assert list(object_members([b" \n{ ", b"\t}\r\n "])) == []


def test_a_repeated_key_is_given_again() -> None:
    assert list(object_members([b'{"a": 1, "a": 2}'])) == [("a", 1), ("a", 2)]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"KSampler": {"input": ', "not JSON at character"),
        (b'{"a": 1', "no ',' or '}'"),
        (b'{"a": 1,}', "not JSON at character"),
        (b'{"a" 1}', "no ':'"),
        (b"{1: 2}", "key is not a string"),
        (b'{"a": 1} {"b": 2}', "goes on after"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests too deep"),
    ],
)
def test_what_is_not_one_json_object_is_one_sentence(body: bytes, says: str) -> None:
    with pytest.raises(MalformedJsonError) as raised:
        list(object_members(pieces(body, [7, 19])))
    assert says in str(raised.value)


def test_the_members_before_a_break_are_given_before_the_error() -> None:
    members = object_members([b'{"a": 1, "b": {"c": '])
    assert next(members) == ("a", 1)
    with pytest.raises(MalformedJsonError):
        next(members)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=8), JSON, max_size=6),
    depth=st.integers(min_value=1, max_value=5),
    cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=8),
)
def test_any_object_read_to_any_depth_gives_back_its_members_in_order(
    document: dict[str, Any], depth: int, cuts: list[int]
) -> None:
    body = json.dumps(document).encode()
    rebuilt: dict[str, Any] = {}
    for path, value in object_leaves(pieces(body, cuts), depth):
        assert 1 <= len(path) <= depth
        parent = rebuilt
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = {} if value is OBJECT_BEGINS else value
    assert json.dumps(rebuilt) == json.dumps(document)


def test_only_objects_above_the_depth_are_gone_into() -> None:
    body = b'{"N": {"input": {"required": {"a": [["x"], {}]}}, "output": ["IMAGE"]}, "M": 3}'
    assert list(object_leaves([body], 4)) == [
        (("N",), OBJECT_BEGINS),
        (("N", "input"), OBJECT_BEGINS),
        (("N", "input", "required"), OBJECT_BEGINS),
        (("N", "input", "required", "a"), [["x"], {}]),
        (("N", "output"), ["IMAGE"]),
        (("M",), 3),
    ]


def test_whitespace_running_over_many_pieces_is_skipped() -> None:
    padding = b" \n\t\r" * 100_000
    body = b"{" + padding + b'"a"' + padding + b":" + padding + b"1" + padding + b"}" + padding
    assert list(object_members(pieces(body, list(range(0, len(body), 5_000))))) == [("a", 1)]
