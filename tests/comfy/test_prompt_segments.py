"""Prompt text is cut into weighted segments as ComfyUI's ``token_weights`` cuts it, with
bounded work and memory: paired and unpaired parentheses, weights read as ``float`` reads
them, the text read a window at a time. Checked through the tokens read from the segments,
against the oracle."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.comfy.comfy_tokenizer_oracle import PIECES, token_names, tried_names
from watchman.comfy import prompt_segments
from watchman.comfy.prompt_tokens import embedding_names, read_embedding_tokens

_PAIRED = st.recursive(
    st.lists(PIECES.filter(lambda piece: piece not in ("(", ")")), max_size=4).map("".join),
    lambda inner: st.lists(st.one_of(inner, inner.map(lambda text: f"({text})")), max_size=4).map(
        "".join
    ),
    max_leaves=12,
)


@settings(max_examples=1500, deadline=None)
@given(_PAIRED)
def test_paired_parentheses_are_read_as_runs_between_them_as_comfyui_reads_them(
    text: str,
) -> None:
    # Such texts take the short reading (runs between parentheses), whatever their length.
    assert embedding_names(text * 40) == tuple(dict.fromkeys(tried_names(text * 40)))
    tokens = tuple(token.name for token in read_embedding_tokens(text * 40))
    assert tokens == tuple(dict.fromkeys(token_names(text * 40)))


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_the_text_read_in_small_windows_gives_the_same_names(text: str) -> None:
    # The parentheses are counted, and looked for backwards, a window at a time: an
    # escape across a window's edge must read as in one piece.
    with (
        patch.object(prompt_segments, "_WINDOW", 3),
        patch.object(prompt_segments, "_BACK_WINDOW", 1),
    ):
        tokens = tuple(token.name for token in read_embedding_tokens(text))
    assert tokens == tuple(dict.fromkeys(token_names(text)))


_NUMBERISH = st.text(alphabet=" \t\u30000123456789\u0661\u0662_.+-eE", max_size=16)


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=3000, deadline=None)
@given(_NUMBERISH)
def test_a_long_weight_is_read_in_place_as_float_reads_it(text: str) -> None:
    with patch.object(prompt_segments, "_SHORT_WEIGHT", 0):
        assert prompt_segments._is_weight(text, 0, len(text)) == _reads_as_number(text), text


@pytest.mark.parametrize(
    "weight",
    ["1.5", "-inf", "Infinity", "nan", "1_000.5e-3", "\u0661.\u0665", "1__0", "1.5x", "inf1"],
)
def test_a_weight_padded_with_long_blanks_is_read_as_float_reads_it(weight: str) -> None:
    text = " " * 5000 + weight + "\u3000" * 5000
    assert prompt_segments._is_weight(text, 0, len(text)) == _reads_as_number(text)
    assert prompt_segments._is_weight("x:" + text, 2, len(text) + 2) == _reads_as_number(text)


def test_a_long_run_of_digits_after_a_colon_is_a_weight() -> None:
    assert embedding_names("(embedding:x:" + "1" * 100_000 + ")") == ("x",)
    assert embedding_names("(embedding:x:" + "1" * 100_000 + "z)") == ("x:" + "1" * 100_000 + "z",)


_SOUP = st.lists(
    st.sampled_from(
        ["(", "(", ")", ")", " embedding:", "embedding:", "x", ":1.2", ":", " ", "\\(", "\\)", ","]
    ),
    min_size=60,
    max_size=240,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(_SOUP)
def test_any_soup_of_parentheses_is_read_exactly_as_comfyui_reads_it(text: str) -> None:
    # Far more than 64 parentheses, unpaired, with weights, escapes and separators.
    tokens = tuple(token.name for token in read_embedding_tokens(text))
    assert tokens == tuple(dict.fromkeys(token_names(text)))


@settings(max_examples=300, deadline=None)
@given(_SOUP)
def test_a_soup_read_a_few_characters_at_a_time_gives_the_same_names(text: str) -> None:
    with (
        patch.object(prompt_segments, "_LEVEL_WINDOW", 2),
        patch.object(prompt_segments, "_WINDOW", 3),
        patch.object(prompt_segments, "_BACK_WINDOW", 1),
    ):
        tokens = tuple(token.name for token in read_embedding_tokens(text))
    assert tokens == tuple(dict.fromkeys(token_names(text)))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # The last group never closes: read as a group, level by level, while it ends
        # with ")"; the text left at the first other end is one segment, "(" and all.
        ("(( embedding:a)", ("a",)),
        ("((embedding:a)", ()),  # the segment "(embedding:a" starts with "("
        ("(x (embedding:a:1.5):0.5)", ("a",)),
        ("(x embedding:a:1) (y", ("a",)),
        ("(x (y embedding:a:1) z", ("a:1)",)),  # read as pairs it would be "a"
        # Below level zero parentheses are text, up to the next "(" met at level zero.
        ("a) b (embedding:c", ()),
        ("a) b ( embedding:c", ("c",)),
        ("x) embedding:y (z) embedding:w", ("y", "w")),
    ],
)
def test_unpaired_parentheses_are_read_as_comfyui_reads_them(
    text: str, names: tuple[str, ...]
) -> None:
    assert tuple(dict.fromkeys(token_names(text))) == names  # the oracle agrees
    assert embedding_names(text) == names


def test_a_long_chain_of_weighted_closes_is_walked_up_to_its_bound() -> None:
    text = "(" * 3 + "embedding:a" + ":1)" * 2
    assert embedding_names(text) == tuple(dict.fromkeys(tried_names(text)))
    with patch.object(prompt_segments, "MAX_TRAILING_WEIGHTS", 1):
        # Past the bound the end is read as if paired: still the names of runs.
        assert embedding_names(text) == ("a",)
