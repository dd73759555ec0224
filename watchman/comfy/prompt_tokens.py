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

The work is bounded for any text, and nothing recurses or backtracks. The parentheses are
counted first, in C. When they pair up (no ``)`` before its ``(``, none left open: real
prompts), every segment is a run of text between two of them, found from each
``embedding:`` with a few searches. When they do not, the text is walked parenthesis by
parenthesis as ComfyUI walks it, up to ``MAX_UNPAIRED_PARENTHESES`` of them; past that it
is read as if they paired up, the one place this reading may differ from ComfyUI's.
ComfyUI's own reading recurses, so past about a thousand nested levels it fails where this
one reads on.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate

IDENTIFIER = "embedding:"
"""What starts an embedding token in ComfyUI's tokenizer (``embedding_identifier``)."""

_SEPARATOR = re.compile("[ \n]" + IDENTIFIER)
_WORD = re.compile(r"\S+")  # \S is exactly what str.split() does not split at
_PAREN = re.compile(r"[()]")
_ROOT = -1
_NOT_PARENS = bytes(byte for byte in range(256) if byte not in b"()")
_STEPS = bytes.maketrans(b"()", b"\x01\xff")  # +1 and -1 as signed bytes

MAX_UNPAIRED_PARENTHESES = 64
"""Parentheses a prompt whose parentheses do not pair up is read exactly with; past it the
prompt is read as if they paired up (the bound keeps the per-character walk short)."""


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
    escaped = text.replace("\\)", "\0\1").replace("\\(", "\0\2")  # same length as text
    found = [match.start() for match in re.finditer(re.escape(IDENTIFIER), escaped)]
    paired, count = _pairing(escaped)
    if paired or count > MAX_UNPAIRED_PARENTHESES:
        segments = _segments_between_parentheses(escaped, found)
    else:
        segments = _segments(escaped, found)
    names: dict[str, None] = {}
    for start, end in segments:
        segment = escaped[start:end]
        if "\0" in segment:
            segment = segment.replace("\0\1", ")").replace("\0\2", "(")
        for name in _segment_names(segment):
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


def _segment_names(segment: str) -> list[str]:
    """The first word after each ``embedding:`` token of one weighted segment, or ``""``
    for a token followed by no word before the next token or the segment's end."""
    # Each token's text runs from its identifier's end to the next separator's start.
    cuts = [(match.start(), match.end()) for match in _SEPARATOR.finditer(segment)]
    if segment.startswith(IDENTIFIER):
        cuts.insert(0, (0, len(IDENTIFIER)))
    starts = [end for _, end in cuts]
    ends = [start for start, _ in cuts[1:]] + [len(segment)] if cuts else []
    names = []
    for start, end in zip(starts, ends, strict=True):
        word = _WORD.search(segment, start, end)
        names.append(word.group() if word is not None else "")
    return names


class _Parentheses:
    """Where each weight group of a text opens and closes, from one pass over its
    parentheses, counted as ComfyUI's ``parse_parentheses`` counts them: a ``(`` opens a
    group only at a level of zero or more, a ``)`` closes one only above zero."""

    def __init__(self, text: str) -> None:
        self.closes: dict[int, int] = {}
        self.children: dict[int, list[int]] = {}
        stack: list[int] = []
        level = 0
        for match in _PAREN.finditer(text):
            at = match.start()
            if text[at] == "(":
                if level >= 0:
                    self.children.setdefault(stack[-1] if stack else _ROOT, []).append(at)
                    stack.append(at)
                level += 1
            else:
                if level > 0:
                    self.closes[stack.pop()] = at
                level -= 1


def _pairing(text: str) -> tuple[bool, int]:
    """Whether every parenthesis of ``text`` pairs up (no ``)`` before its ``(``, none left
    open), and how many there are. Counted in C: the bytes of the parentheses alone, their
    running sum as +1 and -1."""
    parentheses = text.encode("utf-8", "surrogatepass").translate(None, _NOT_PARENS)
    if not parentheses:
        return True, 0
    levels = accumulate(array("b", parentheses.translate(_STEPS)))
    lowest = min(levels)
    final = parentheses.count(b"(") * 2 - len(parentheses)
    return lowest >= 0 and final == 0, len(parentheses)


def _segments_between_parentheses(text: str, found: list[int]) -> list[tuple[int, int]]:
    """The weighted segments holding the identifiers at ``found`` in a text whose
    parentheses pair up: there every segment is a run of text between two parentheses
    (a group's own text, or the text between its inner groups), the one before a group's
    ``)`` without the group's weight. Each character is looked at a bounded number of
    times."""
    segments: list[tuple[int, int]] = []
    passed = 0  # the parenthesis that ended the last run, or where the search starts
    for at in found:
        if at < passed:
            continue  # in the last run (its weight holds no identifier)
        after = _PAREN.search(text, at)
        end = after.start() if after is not None else len(text)
        start = max(text.rfind("(", passed, at), text.rfind(")", passed, at)) + 1
        passed = end
        if end < len(text) and text[end] == ")":
            # A group's last run. Its first character may not be the weight's colon when
            # the group's "(" comes right before it (the colon must follow some text).
            colon = text.rfind(":", start, end)
            if colon > start or (colon == start and start > 0 and text[start - 1] == ")"):
                try:
                    float(text[colon + 1 : end])
                    end = colon
                except ValueError:
                    pass
        if start < end:
            segments.append((start, end))
    return segments


def _segments(text: str, found: list[int]) -> list[tuple[int, int]]:
    """The weighted segments of escaped ``text`` that hold an identifier (at ``found``),
    as (start, end) offsets, in the order of the text (see the module's docstring,
    step 2), for any parentheses: one walk over them, in Python."""

    def holds_token(start: int, end: int) -> bool:
        at = bisect_left(found, start)
        return at < len(found) and found[at] + len(IDENTIFIER) <= end

    groups = _Parentheses(text)
    segments: list[tuple[int, int]] = []
    # (group, start, end): the text a group holds, its parentheses excluded.
    work = [(_ROOT, 0, len(text))]
    while work:
        owner, start, end = work.pop()
        if owner != _ROOT:
            end = _without_weight(text, groups, owner, start, end)
        if not holds_token(start, end):
            continue
        at = start
        for child in groups.children.get(owner, ()):
            if child >= end:
                break
            if child > at:
                segments.append((at, child))
            close = groups.closes.get(child, len(text))
            if close < end:
                work.append((child, child + 1, close))
                at = close + 1
                continue
            # Open to the end of this text: a group only when the text ends with ")".
            if end - child >= 2 and text[end - 1] == ")":
                work.append((child, child + 1, end - 1))
            else:
                segments.append((child, end))
            at = end
            break
        if at < end:
            segments.append((at, end))
    segments = [segment for segment in segments if holds_token(*segment)]
    segments.sort()
    return segments


def _without_weight(text: str, groups: _Parentheses, owner: int, start: int, end: int) -> int:
    """The end of a group's text without its ``:weight``: ComfyUI takes what follows the
    last colon as the weight when ``float`` reads it (the colon not the first character).
    A weight holds no parenthesis, so only the text after the last one is looked at: each
    character is looked at for one group only, however deep they nest."""
    after = start
    children = groups.children.get(owner, ())
    last = bisect_left(children, end) - 1
    if last >= 0:
        close = groups.closes.get(children[last], len(text))
        if close < end:
            after = close + 1  # nothing after the last group's close is a parenthesis
        else:  # the last group is open to the end: read its text alone
            opened = children[last]
            after = max(text.rfind(")", opened, end), text.rfind("(", opened, end)) + 1
    colon = text.rfind(":", after, end)
    if colon <= start:
        return end
    try:
        float(text[colon + 1 : end])
    except ValueError:
        return end
    return colon
