"""Prompt text's ``embedding:`` tokens are read exactly as ComfyUI's tokenizer reads them."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.comfy.comfy_tokenizer_oracle import token_names, tried_names
from watchman.comfy import prompt_tokens
from watchman.comfy.prompt_tokens import EmbeddingToken, embedding_names, read_embedding_tokens


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("(embedding:x:1.2)", ("x",)),
        ("((embedding:x:1.2))", ("x",)),
        ("(embedding:x)", ("x",)),
        ("embedding:foo, embedding:bar.pt", ("foo,", "foo", "bar.pt")),
        ("embedding:sub/neg", ("sub/neg",)),
        ("two\nembedding:lines", ("lines",)),
    ],
)
def test_a_weight_inside_parentheses_is_not_part_of_the_name(
    text: str, names: tuple[str, ...]
) -> None:
    assert embedding_names(text) == names


def test_a_weight_outside_parentheses_is_part_of_the_name() -> None:
    assert embedding_names("embedding:x:1.2") == ("x:1.2",)


def test_a_colon_that_is_not_a_weight_stays_in_the_group() -> None:
    assert embedding_names("(embedding:x:y)") == ("x:y",)


def test_the_identifier_is_case_sensitive() -> None:
    assert embedding_names("EMBEDDING:x, Embedding:y") == ()


@pytest.mark.parametrize(
    "text", ["a,embedding:x", "a\tembedding:x", "myembedding:x", "x:embedding:y"]
)
def test_a_token_needs_a_space_or_a_newline_before_it(text: str) -> None:
    assert embedding_names(text) == ()


@pytest.mark.parametrize(
    "text", ["embedding:x", "a (embedding:x)", "(a)embedding:x", "a(embedding:x)"]
)
def test_a_token_may_start_a_segment(text: str) -> None:
    assert embedding_names(text) == ("x",)


def test_escaped_parentheses_are_text_not_a_group() -> None:
    assert embedding_names("\\(embedding:x\\)") == ()
    assert embedding_names("a \\(b\\) embedding:x") == ("x",)


def test_the_name_is_the_first_word_after_the_identifier() -> None:
    assert embedding_names("embedding:  x y z") == ("x",)
    assert embedding_names("embedding:x\u3000y") == ("x",)


@pytest.mark.parametrize(
    "text",
    [
        "a cat, embedding:",
        "embedding:",
        "embedding:  \n",
        "embedding:\t",
        "embedding: embedding:x",
        "a embedding:\nembedding:x",
        "(embedding:)",
        "(embedding::1.2)",
        "embedding:(x)",
        "(a embedding:)",
    ],
)
def test_a_token_followed_by_no_word_is_a_token_of_no_name(text: str) -> None:
    # ComfyUI's _try_get_embedding takes the first word of nothing there and raises.
    assert EmbeddingToken("") in read_embedding_tokens(text)
    assert EmbeddingToken("").names_nothing and EmbeddingToken("").tries == ()
    assert "" not in embedding_names(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("embedding:,", ","),
        ("embedding: , b", ","),
        ("embedding:\tembedding:x", "embedding:x"),  # a tab is no separator
        ("embedding:embedding:x", "embedding:x"),
        ("embedding: x", "x"),
    ],
)
def test_a_word_after_the_identifier_is_a_name_even_when_it_names_nothing_useful(
    text: str, name: str
) -> None:
    assert read_embedding_tokens(text) == (EmbeddingToken(name),)
    assert not EmbeddingToken(name).names_nothing


def test_commas_at_the_ends_of_a_name_are_stripped_for_a_second_try() -> None:
    assert read_embedding_tokens("embedding:x, b") == (EmbeddingToken("x,"),)
    assert EmbeddingToken("x,").tries == ("x,", "x")
    assert EmbeddingToken(",x,,").tries == (",x,,", "x")
    assert EmbeddingToken("x").tries == ("x",)
    assert EmbeddingToken(",,").tries == (",,",)


def test_names_come_in_the_order_of_the_text_each_once() -> None:
    text = "embedding:b (embedding:a:0.5) embedding:b ((embedding:c))"
    assert embedding_names(text) == ("b", "a", "c")


def test_an_unclosed_group_runs_to_the_end_of_the_text() -> None:
    assert embedding_names("(a embedding:x") == ("x",)
    # Ending with ")", it is a group: its own weight is read, "(b" stays open text.
    assert embedding_names("(a (embedding:b:1.5)") == ()
    assert embedding_names("((b embedding:q)") == ("q",)


def test_a_close_before_any_open_makes_the_rest_plain_text() -> None:
    assert embedding_names("a) (embedding:c) x") == ()
    assert embedding_names("a) x embedding:c") == ("c",)


def test_deep_and_long_hostile_text_is_read_without_recursion() -> None:
    depth = 200_000
    text = "(" * depth + "embedding:deep:0.5" + ")" * depth
    assert embedding_names(text) == ("deep",)
    assert embedding_names("(" * depth + " embedding:open") == ("open",)
    assert embedding_names(")(" * depth + " embedding:x") == ("x",)


def test_non_strings_hold_no_tokens() -> None:
    assert embedding_names(None) == () and embedding_names(["embedding:x"]) == ()


_PIECES = st.sampled_from(
    [
        "embedding:",
        " embedding:",
        "\nembedding:",
        "EMBEDDING:",
        "x",
        "Neg",
        "a/b",
        ",",
        ":",
        ":1.2",
        ":0",
        ":x",
        " ",
        "\n",
        "\t",
        "\u3000",
        "(",
        ")",
        "\\(",
        "\\)",
        "\0\1",
        "1",
        ".5",
        "e3",
        "_",
        "inf",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_the_names_are_exactly_those_comfyui_tries(text: str) -> None:
    assert embedding_names(text) == tuple(dict.fromkeys(tried_names(text)))
    tokens = tuple(token.name for token in read_embedding_tokens(text))
    assert tokens == tuple(dict.fromkeys(token_names(text)))


_PAIRED = st.recursive(
    st.lists(_PIECES.filter(lambda piece: piece not in ("(", ")")), max_size=4).map("".join),
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
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_the_text_read_in_small_windows_gives_the_same_names(text: str) -> None:
    # The parentheses are counted, and looked for backwards, a window at a time: an
    # escape across a window's edge must read as in one piece.
    with (
        patch.object(prompt_tokens, "_WINDOW", 3),
        patch.object(prompt_tokens, "_BACK_WINDOW", 1),
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
    with patch.object(prompt_tokens, "_SHORT_WEIGHT", 0):
        assert prompt_tokens._is_weight(text, 0, len(text)) == _reads_as_number(text), text


@pytest.mark.parametrize(
    "weight",
    ["1.5", "-inf", "Infinity", "nan", "1_000.5e-3", "\u0661.\u0665", "1__0", "1.5x", "inf1"],
)
def test_a_weight_padded_with_long_blanks_is_read_as_float_reads_it(weight: str) -> None:
    text = " " * 5000 + weight + "\u3000" * 5000
    assert prompt_tokens._is_weight(text, 0, len(text)) == _reads_as_number(text)
    assert prompt_tokens._is_weight("x:" + text, 2, len(text) + 2) == _reads_as_number(text)


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
        patch.object(prompt_tokens, "_LEVEL_WINDOW", 2),
        patch.object(prompt_tokens, "_WINDOW", 3),
        patch.object(prompt_tokens, "_BACK_WINDOW", 1),
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
    with patch.object(prompt_tokens, "MAX_TRAILING_WEIGHTS", 1):
        # Past the bound the end is read as if paired: still the names of runs.
        assert embedding_names(text) == ("a",)
