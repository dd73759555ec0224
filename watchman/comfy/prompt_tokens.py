"""The ``embedding:`` tokens of prompt text, read the way ComfyUI's tokenizer reads them.

ComfyUI (``SDTokenizer.tokenize_with_weights`` in ``comfy/sd1_clip.py``) reads a prompt in
five steps, and a name counts only if it survives all five:

1. ``\\(`` and ``\\)`` are escaped: they are text, not weight parentheses.
2. The text is cut into weighted segments (``token_weights``): a group ``( ... )`` is a
   segment of its own, nested groups likewise; when the part after a group's last colon
   reads as a number (Python's ``float``), it is the group's weight and is removed, so
   ``(embedding:x:1.2)`` leaves ``embedding:x``. A ``)`` with no ``(`` before it is text;
   an unclosed ``(`` runs to the end, and is a group only when the text ends with ``)``.
3. Each segment is split before every ``embedding:`` (case-sensitive) that follows a space
   or a newline; a segment may also start with one. ``a,embedding:x`` holds no token.
4. The name is the first whitespace-delimited word after ``embedding:``. A bare
   ``embedding:x:1.2`` therefore names ``x:1.2``: a weight outside parentheses is part of
   the name, and ComfyUI loads nothing for it (it warns and renders without the
   embedding). When no word follows before the token's end (``a embedding:``,
   ``embedding: embedding:x``, ``(embedding:)``, ``embedding:(x)``), ComfyUI's
   ``_try_get_embedding`` takes the first word of nothing and raises ``IndexError``: the
   prompt cannot be encoded, so the workflow fails when it runs. Such a token is read as
   a token of no name (:attr:`EmbeddingToken.names_nothing`).
5. When nothing is found under that name, ComfyUI strips commas from both of its ends
   and tries again: ``embedding:x,`` loads ``x``. A name of commas alone
   (``embedding:,``) raises nothing: ComfyUI warns and renders without an embedding.

Steps 1 and 2 are :mod:`watchman.comfy.prompt_segments` (bounded for any text, reading
it in place); steps 3 to 5 are here, reading each segment by position: nothing of the text
is copied but the words its tokens name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from watchman.comfy.prompt_segments import weighted_segments

IDENTIFIER = "embedding:"
"""What starts an embedding token in ComfyUI's tokenizer (``embedding_identifier``)."""

_SEPARATOR = re.compile("[ \n]" + IDENTIFIER)
_WORD = re.compile(r"\S+")  # \S is exactly what str.split() does not split at


@dataclass(frozen=True, slots=True)
class EmbeddingToken:
    """One ``embedding:`` token of a prompt.

    ``name`` is the word ComfyUI's ``load_embed`` tries first, exactly as written;
    ``retry`` is the name it tries when that finds nothing (``name`` with the commas at its
    ends stripped), or None when it tries nothing else. ``name`` is empty for a token
    followed by no word, on which ComfyUI's tokenizer raises (:attr:`names_nothing`).
    """

    name: str

    @property
    def names_nothing(self) -> bool:
        """Whether no word follows ``embedding:``: ComfyUI's tokenizer then raises
        (``IndexError`` in ``_try_get_embedding``) and the prompt cannot be encoded."""
        return not self.name

    @property
    def retry(self) -> str | None:
        """The comma-stripped name ComfyUI tries second, or None (no comma at an end, or
        nothing but commas)."""
        return retry_name(self.name)

    @property
    def tries(self) -> tuple[str, ...]:
        """The names ComfyUI tries for this token, in order (none for a token of no
        name: ComfyUI raises before it tries any)."""
        if self.names_nothing:
            return ()
        retry = self.retry
        return (self.name,) if retry is None else (self.name, retry)


def retry_name(name: str) -> str | None:
    """Return the name ComfyUI's ``_try_get_embedding`` tries when ``name`` finds nothing:
    ``name`` without the commas at its ends, or None when there are none to strip or
    nothing else is left."""
    stripped = name.strip(",")
    return stripped if stripped and len(stripped) < len(name) else None


def weight_outside_parentheses(name: str) -> tuple[str, str] | None:
    """Return (the name meant, the weight) when a token's ``name`` ends in what ComfyUI
    would read as a weight inside parentheses (``x:1.2``: the part after the last colon
    reads as a number, with some name before it), else None. Such a name is what a bare
    ``embedding:x:1.2`` makes: ComfyUI looks for a file ``x:1.2`` and loads nothing."""
    meant, colon, weight = name.rpartition(":")
    if not colon or not meant or not weight:
        return None
    try:
        float(weight)
    except ValueError:
        return None
    return meant, weight


def read_embedding_tokens(text: object) -> tuple[EmbeddingToken, ...]:
    """Return the ``embedding:`` tokens ComfyUI's tokenizer reads in prompt text.

    Takes any value; non-strings give nothing. Tokens come in the order of the text,
    each name once; tokens followed by no word give one token of no name
    (:attr:`EmbeddingToken.names_nothing`). Never raises.
    """
    if not isinstance(text, str) or IDENTIFIER not in text:
        return ()
    names: dict[str, None] = {}
    for start, end in weighted_segments(text, IDENTIFIER):
        for name in _segment_names(text, start, end):
            names.setdefault(name, None)
    return tuple(EmbeddingToken(name) for name in names)


def embedding_names(text: object) -> tuple[str, ...]:
    """Return every name ComfyUI's tokenizer tries for the ``embedding:`` tokens of
    prompt text: each token's name as written, then its comma-stripped retry, in order,
    each once. Takes any value; non-strings give nothing."""
    names: dict[str, None] = {}
    for token in read_embedding_tokens(text):
        for name in token.tries:
            names.setdefault(name, None)
    return tuple(names)


def _segment_names(text: str, start: int, end: int) -> Iterator[str]:
    """The first word after each ``embedding:`` token of the weighted segment
    ``text[start:end]``, or ``""`` for a token followed by no word before the next token
    or the segment's end. Read in place: nothing of the segment is copied but its words."""
    # Each token's text runs from its identifier's end to the next separator's start.
    current = start + len(IDENTIFIER) if text.startswith(IDENTIFIER, start, end) else None
    for separator in _SEPARATOR.finditer(text, start, end):
        if current is not None:
            yield _first_word(text, current, separator.start())
        current = separator.end()
    if current is not None:
        yield _first_word(text, current, end)


def _first_word(text: str, start: int, end: int) -> str:
    """The first word of ``text[start:end]`` as ComfyUI reads it (escaped parentheses
    unescaped), or ``""`` when there is none."""
    word = _WORD.search(text, start, end)
    if word is None:
        return ""
    found = word.group()
    if "\\" in found or "\0" in found:
        # escape_important then unescape_important, as ComfyUI does to the whole text: a
        # word begins after a blank and ends before a blank or a parenthesis, so no pair
        # of either straddles it.
        found = found.replace("\\)", "\0\1").replace("\\(", "\0\2")
        found = found.replace("\0\1", ")").replace("\0\2", "(")
    return found
