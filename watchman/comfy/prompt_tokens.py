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

Memory is bounded too: the text is read in place. Escaped parentheses are told by the
character before them (no escaped copy of the text is made), the parentheses are counted
a window of at most ``_WINDOW`` characters at a time, and the names are read from each
segment by position: a 40 MB prompt costs a few MiB beyond itself, not copies of it.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

IDENTIFIER = "embedding:"
"""What starts an embedding token in ComfyUI's tokenizer (``embedding_identifier``)."""

_SEPARATOR = re.compile("[ \n]" + IDENTIFIER)
_WORD = re.compile(r"\S+")  # \S is exactly what str.split() does not split at
# A parenthesis ComfyUI's escape_important leaves one: not right after a backslash.
_PAREN = re.compile(r"[()](?<!\\[()])")
_REVERSED_PAREN = re.compile(r"[()](?!\\)")  # the same, in text read backwards
_WINDOW = 1 << 20  # characters of text copied at a time to count its parentheses
_BACK_WINDOW = 4096  # the first window read backwards for a parenthesis, then doubled
_SHORT_WEIGHT = 64
_NOT_WEIGHT = re.compile(r"[^\s\d.+\-_eEiInNfFtTyYaA]")
_NOT_BLANK = re.compile(r"\S")
_LONG_NUMBER = re.compile(r"[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?")
_BAD_UNDERSCORE = re.compile(r"(?<!\d)_|_(?!\d)")
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
    paired, count = _pairing(text)
    segments: Iterable[tuple[int, int]]
    if paired or count > MAX_UNPAIRED_PARENTHESES:
        segments = _segments_between_parentheses(text)
    else:
        segments = _segments(text)
    names: dict[str, None] = {}
    for start, end in segments:
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


def _next_paren(text: str, start: int) -> int:
    """Where the first parenthesis at or after ``start`` is (``len(text)``: none)."""
    found = _PAREN.search(text, start)
    return found.start() if found is not None else len(text)


def _last_paren(text: str, start: int, end: int) -> int:
    """Where the last parenthesis of ``text[start:end]`` is (-1: none). Read backwards in
    windows of the text reversed, each at most 1 MiB: no copy of the whole range."""
    # Most often the last one found by rfind is it (not escaped).
    last = max(text.rfind("(", start, end), text.rfind(")", start, end))
    if last == -1 or _is_paren(text, last):
        return last
    end = last
    width = _BACK_WINDOW
    while end > start:
        low = max(start, end - width)
        # One more character before the window: the backslash that escapes its first.
        window = text[max(low - 1, 0) : end][::-1]
        found = _REVERSED_PAREN.search(window)
        if found is not None and end - 1 - found.start() >= low:
            return end - 1 - found.start()
        end = low
        width = min(width * 2, _WINDOW)
    return -1


def _is_weight(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` reads as a number to Python's ``float``, as ComfyUI
    reads a group's weight. A short text is given to ``float``; a long one is first
    looked at in place (a weight holds only blanks, digits, signs, points, underscores
    and the letters of ``e``, ``inf`` and ``nan``), so a stranger's long run of text after
    a colon is never copied."""
    if end - start <= _SHORT_WEIGHT:
        try:
            float(text[start:end])
        except ValueError:
            return False
        return True
    if _NOT_WEIGHT.search(text, start, end) is not None:
        return False
    first = _NOT_BLANK.search(text, start, end)
    if first is None:
        return False
    core = (first.start(), _last_not_blank(text, first.start(), end) + 1)
    if core[1] - core[0] <= _SHORT_WEIGHT:
        return _is_weight(text, *core)
    # Long and not blank: digits only, so no inf or nan; float's own grammar.
    return _LONG_NUMBER.fullmatch(text, *core) is not None and (
        _BAD_UNDERSCORE.search(text, *core) is None
    )


def _last_not_blank(text: str, start: int, end: int) -> int:
    """Where the last character of ``text[start:end]`` that is not blank is (``start``
    itself must be one), read backwards in windows as :func:`_last_paren` reads."""
    width = _BACK_WINDOW
    while end > start:
        low = max(start, end - width)
        found = _NOT_BLANK.search(text[low:end][::-1])
        if found is not None:
            return end - 1 - found.start()
        end = low
        width = min(width * 2, _WINDOW)
    return start


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
    open), and how many there are. Counted in C: the totals by ``str.count``, the lowest
    running level window by window (at most ``_WINDOW`` characters copied at a time), from
    the bytes of the parentheses alone as +1 and -1."""
    opens = text.count("(") - text.count("\\(")
    closes = text.count(")") - text.count("\\)")
    if opens + closes == 0:
        return True, 0
    if opens != closes:
        return False, opens + closes
    level = 0
    for start in range(0, len(text), _WINDOW):
        window = text[start : start + _WINDOW]
        if start and text[start - 1] == "\\" and window[:1] in ("(", ")"):
            window = "\0" + window[1:]  # escaped by the backslash before the window
        # Escaped ones are not parentheses: same length, so no new pair is made either.
        window = window.replace("\\(", "\\\0").replace("\\)", "\\\0")
        steps = window.encode("utf-8", "surrogatepass").translate(None, _NOT_PARENS)
        if not steps:
            continue
        if min(accumulate(array("b", steps.translate(_STEPS)), initial=level)) < 0:
            return False, opens + closes
        level += steps.count(b"(") * 2 - len(steps)
    return True, opens + closes


def _segments_between_parentheses(text: str) -> Iterator[tuple[int, int]]:
    """The weighted segments holding an identifier, in the order of the text, of a text
    whose parentheses pair up: there every segment is a run of text between two
    parentheses (a group's own text, or the text between its inner groups), the one
    before a group's ``)`` without the group's weight. Each character is looked at a
    bounded number of times, and nothing is kept per identifier."""
    passed = 0  # the parenthesis that ended the last run, or where the search starts
    at = text.find(IDENTIFIER)
    while at != -1:
        end = _next_paren(text, at)
        start = _last_paren(text, passed, at) + 1
        passed = end
        if end < len(text) and text[end] == ")":
            # A group's last run. Its first character may not be the weight's colon when
            # the group's "(" comes right before it (the colon must follow some text).
            colon = text.rfind(":", start, end)
            follows_text = colon > start or (
                colon == start and start > 0 and text[start - 1] == ")"
            )
            if follows_text and _is_weight(text, colon + 1, end):
                end = colon
        if start < end:
            yield start, end
        # The identifiers before the run's end are in it (its weight holds none).
        at = text.find(IDENTIFIER, max(at + len(IDENTIFIER), passed))


def _segments(text: str) -> list[tuple[int, int]]:
    """The weighted segments of ``text`` that hold an identifier, as (start, end)
    offsets, in the order of the text (see the module's docstring, step 2), for any
    parentheses: one walk over them, in Python."""

    def holds_token(start: int, end: int) -> bool:
        return text.find(IDENTIFIER, start, end) != -1

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
            if end - child >= 2 and text[end - 1] == ")" and _is_paren(text, end - 1):
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


def _is_paren(text: str, at: int) -> bool:
    """Whether the parenthesis at ``at`` is one (not escaped by a backslash before it)."""
    return at == 0 or text[at - 1] != "\\"


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
        # Nothing after the last group's close is a parenthesis; a last group open to the
        # end is read alone.
        after = close + 1 if close < end else _last_paren(text, children[last], end) + 1
    colon = text.rfind(":", after, end)
    if colon <= start:
        return end
    return colon if _is_weight(text, colon + 1, end) else end
