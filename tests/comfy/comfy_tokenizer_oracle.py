"""ComfyUI's reading of ``embedding:`` tokens, re-done step by step as its tokenizer does it
(``comfy/sd1_clip.py``: ``escape_important``, ``parse_parentheses``, ``token_weights``,
``unescape_important``, the split before ``embedding:`` in ``tokenize_with_weights``, and
``_try_get_embedding``), character by character and recursively, with no care for speed.

Used as the oracle of the property tests of :mod:`watchman.comfy.prompt_tokens` and
:mod:`watchman.comfy.prompt_segments`: only the names the tokenizer tries are kept, not the
tokens or the weights. :data:`PIECES` are what those tests make prompts of.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st


def escape(text: str) -> str:
    return text.replace("\\)", "\0\1").replace("\\(", "\0\2")


def unescape(text: str) -> str:
    return text.replace("\0\1", ")").replace("\0\2", "(")


def parentheses(text: str) -> list[str]:
    """The top-level items: plain runs and ``( ... )`` groups, counted as ComfyUI counts."""
    items: list[str] = []
    current = ""
    level = 0
    for char in text:
        if char == "(":
            if level == 0:
                if current:
                    items.append(current)
                current = "("
            else:
                current += char
            level += 1
        elif char == ")":
            level -= 1
            if level == 0:
                items.append(current + ")")
                current = ""
            else:
                current += char
        else:
            current += char
    if current:
        items.append(current)
    return items


def weighted_segments(text: str, weight: float = 1.0) -> list[tuple[str, float]]:
    segments: list[tuple[str, float]] = []
    for item in parentheses(text):
        if len(item) >= 2 and item[0] == "(" and item[-1] == ")":
            inner = item[1:-1]
            colon = inner.rfind(":")
            inner_weight = weight * 1.1
            if colon > 0:
                try:
                    inner_weight = float(inner[colon + 1 :])
                    inner = inner[:colon]
                except ValueError:
                    pass
            segments += weighted_segments(inner, inner_weight)
        else:
            segments.append((item, weight))
    return segments


def token_tries(text: str) -> list[tuple[str, ...]]:
    """For each embedding token, in order, the names ComfyUI's load_embed is asked for
    when each finds nothing: the first word, then the word without its end commas; none
    for a token followed by no word, on which ComfyUI raises (IndexError: the
    ``split()[0]`` of ``_try_get_embedding``) before it asks for any."""
    tokens: list[tuple[str, ...]] = []
    for segment, _ in weighted_segments(escape(text)):
        pieces = re.split(" embedding:|\nembedding:", unescape(segment))
        words = [pieces[0]] + ["embedding:" + piece for piece in pieces[1:]]
        for word in words:
            if not word or not word.startswith("embedding:"):
                continue
            split = word[len("embedding:") :].strip("\n").split()
            if not split:
                tokens.append(())  # ComfyUI raises IndexError here: no name is tried
                continue
            name = split[0]
            stripped = name.strip(",")
            if len(stripped) < len(name) and stripped:
                tokens.append((name, stripped))
            else:
                tokens.append((name,))
    return tokens


def tried_names(text: str) -> list[str]:
    """Every name ComfyUI's load_embed is asked for, in order, when nothing is found."""
    return [name for tries in token_tries(text) for name in tries]


def token_names(text: str) -> list[str]:
    """Each embedding token's first name, in order; ``""`` for a token on which ComfyUI
    raises (no word after ``embedding:``)."""
    return [tries[0] if tries else "" for tries in token_tries(text)]


def raises(text: str) -> bool:
    """Whether ComfyUI's tokenizer raises on the text (a token followed by no word)."""
    return any(not tries for tries in token_tries(text))


PIECES = st.sampled_from(
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
"""The pieces the property tests join into prompts: identifiers with and without a
separator before them, words, commas, colons and weights, blanks, parentheses plain and
escaped, and the NUL the escaping uses."""
