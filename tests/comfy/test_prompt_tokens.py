"""Prompt text's ``embedding:`` tokens are read exactly as ComfyUI's tokenizer reads them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.comfy.comfy_tokenizer_oracle import PIECES, token_names, tried_names
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


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_the_names_are_exactly_those_comfyui_tries(text: str) -> None:
    assert embedding_names(text) == tuple(dict.fromkeys(tried_names(text)))
    tokens = tuple(token.name for token in read_embedding_tokens(text))
    assert tokens == tuple(dict.fromkeys(token_names(text)))
