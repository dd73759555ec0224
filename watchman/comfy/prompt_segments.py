"""The weighted segments of prompt text, cut as ComfyUI's ``token_weights`` cuts them.

ComfyUI (``SDTokenizer.tokenize_with_weights`` in ``comfy/sd1_clip.py``) first escapes
``\\(`` and ``\\)`` (they are text, not weight parentheses), then cuts the text into
weighted segments: a group ``( ... )`` is a segment of its own, nested groups likewise;
when the part after a group's last colon reads as a number (Python's ``float``), it is the
group's weight and is removed, so ``(embedding:x:1.2)`` leaves ``embedding:x``. A ``)``
with no ``(`` before it is text; an unclosed ``(`` runs to the end, and is a group only
when the text ends with ``)``. :func:`weighted_segments` gives the segments that hold a
word (``embedding:``, for :mod:`watchman.comfy.prompt_tokens`, which reads the tokens in
them).

The work is bounded for any text, and nothing recurses or backtracks. The parentheses are
counted first, in C. When they pair up (no ``)`` before its ``(``, none left open: real
prompts), every segment is a run of text between two of them, found from each place the
identifier occurs with a few searches. When they do not, what ComfyUI's recursion makes of
them is worked out from the levels (:func:`_segments_of_unpaired`): below level zero the
parentheses are text, and a last group that never closes is read level by level from the
end, each weighted level walked in Python up to ``MAX_TRAILING_WEIGHTS`` of them (past
that the end is read as if paired: the one place this reading may differ from
ComfyUI's); the levels themselves are followed in C. Linear in the text either way.
ComfyUI's own reading recurses, so past about a thousand nested levels it fails where this
one reads on.

Memory is bounded too: the text is read in place. Escaped parentheses are told by the
character before them (no escaped copy of the text is made), the parentheses are counted
a window of at most ``_WINDOW`` characters at a time, and the segments are given by
position, so the tokens are read from them in place: a 40 MB prompt costs a few MiB
beyond itself, not copies of it.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from itertools import accumulate

_PAREN = re.compile(r"[()](?<!\\[()])")
_REVERSED_PAREN = re.compile(r"[()](?!\\)")  # the same, in text read backwards
_WINDOW = 1 << 20  # characters of text copied at a time to count its parentheses
_LEVEL_WINDOW = 1 << 16  # characters whose levels are listed at a time
_RISES = bytes(1 if byte == 0x28 else 0xFF if byte == 0x29 else 0 for byte in range(256))
_FALLS = bytes(0xFF if byte == 0x28 else 1 if byte == 0x29 else 0 for byte in range(256))
_BACK_WINDOW = 4096  # the first window read backwards for a parenthesis, then doubled
_SHORT_WEIGHT = 64
_NOT_WEIGHT = re.compile(r"[^\s\d.+\-_eEiInNfFtTyYaA]")
_NOT_BLANK = re.compile(r"\S")
_LONG_NUMBER = re.compile(r"[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?")
_BAD_UNDERSCORE = re.compile(r"(?<!\d)_|_(?!\d)")
_NOT_PARENS = bytes(byte for byte in range(256) if byte not in b"()")
_STEPS = bytes.maketrans(b"()", b"\x01\xff")  # +1 and -1 as signed bytes

MAX_TRAILING_WEIGHTS = 100_000
"""Weighted ``)`` at the end of a prompt whose last group never closes (``((x:1):1):1)``
and so on) walked one by one, each a level of ComfyUI's reading; past it the end of that
prompt is read as if its parentheses paired up (the only place this reading may differ
from ComfyUI's)."""


def weighted_segments(text: str, identifier: str) -> Iterator[tuple[int, int]]:
    """Return the weighted segments of ``text`` that hold ``identifier``, in the order of
    the text, as (start, end) positions: without their group's parentheses and weight,
    escaped parentheses being text. Reads ``text`` in place; never raises."""
    if _pairing(text):
        return _segments_between_parentheses(text, identifier)
    return _segments_of_unpaired(text, identifier)


def _next_paren(text: str, start: int) -> int:
    """Where the first parenthesis at or after ``start`` is (``len(text)``: none)."""
    found = _PAREN.search(text, start)
    return found.start() if found is not None else len(text)


def _last_paren(text: str, start: int, end: int, bounded: bool = False) -> int:
    """Where the last parenthesis of ``text[start:end]`` is (-1: none). Read backwards in
    windows of the text reversed, each at most 1 MiB: no copy of the whole range.
    ``bounded``: the cost is the distance to that parenthesis, not the range's length
    (``rfind`` would look at the whole range for each kind)."""
    width = _BACK_WINDOW
    if not bounded:
        # Most often the last one found by rfind is it (not escaped).
        last = max(text.rfind("(", start, end), text.rfind(")", start, end))
        if last == -1 or _is_paren(text, last):
            return last
        end = last
    else:
        width = 16
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


def _pairing(text: str) -> bool:
    """Whether every parenthesis of ``text`` pairs up (no ``)`` before its ``(``, none left
    open). Counted in C: the totals by ``str.count``, the lowest
    running level window by window (at most ``_WINDOW`` characters copied at a time), from
    the bytes of the parentheses alone as +1 and -1."""
    opens = text.count("(") - text.count("\\(")
    closes = text.count(")") - text.count("\\)")
    if opens != closes:
        return False
    if not opens:
        return True
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
            return False
        level += steps.count(b"(") * 2 - len(steps)
    return True


def _segments_between_parentheses(text: str, identifier: str) -> Iterator[tuple[int, int]]:
    """The weighted segments holding an identifier, in the order of the text, of a text
    whose parentheses pair up: there every segment is a run of text between two
    parentheses (a group's own text, or the text between its inner groups), the one
    before a group's ``)`` without the group's weight. Each character is looked at a
    bounded number of times, and nothing is kept per identifier."""
    passed = 0  # the parenthesis that ended the last run, or where the search starts
    at = text.find(identifier)
    while at != -1:
        start, end, passed = _run(text, passed, at)
        if start < end:
            yield start, end
        # The identifiers before the run's end are in it (its weight holds none).
        at = text.find(identifier, max(at + len(identifier), passed))


def _run(text: str, passed: int, at: int) -> tuple[int, int, int]:
    """The run of text between two parentheses holding the identifier at ``at`` (the
    previous parenthesis looked for from ``passed`` on), without the group's weight when
    it is a group's last run: (start, end, the next parenthesis)."""
    after = _next_paren(text, at)
    start = _last_paren(text, passed, at) + 1
    end = after
    if after < len(text) and text[after] == ")":
        # A group's last run. Its first character may not be the weight's colon when the
        # group's "(" comes right before it (the colon must follow some text).
        colon = text.rfind(":", start, end)
        follows_text = colon > start or (colon == start and start > 0 and text[start - 1] == ")")
        if follows_text and _is_weight(text, colon + 1, end):
            end = colon
    return start, end, after


def _segments_of_unpaired(text: str, identifier: str) -> Iterator[tuple[int, int]]:
    """The weighted segments holding an identifier, in the order of the text, of a text
    whose parentheses do not pair up, exactly as ComfyUI's ``token_weights`` makes them.

    What ComfyUI's recursion makes of such a text, worked out once (``level`` is the count
    of ``(`` minus ``)`` before a place, as ``parse_parentheses`` counts at the top):

    * inside a group that closes, the parentheses pair up: segments are runs between
      two of them, as in :func:`_segments_between_parentheses`;
    * where the level is zero or less, the text is one segment from the end of the last
      group that closed to the next ``(`` met at level zero (its parentheses are text);
    * the last group, when it never closes, is read as a group when the text ends with
      ``)``: its inner text again, each level stripping one ``)`` and a weight before it.
      That chain ends at the first end that is not ``)``, in a segment from the ``(``
      of that level (the last one before it where the level rises to it) to that end;
      elsewhere in the last group segments are again runs between parentheses.

    Levels are followed in C, windows of ``_LEVEL_WINDOW`` characters at a time; the
    chain's weighted steps are walked one by one, at most ``MAX_TRAILING_WEIGHTS``."""
    final = _net_level(text, 0, len(text))
    last = _last_segment(text, final) if final > 0 else None
    level = 0
    counted = 0
    passed = 0
    item = (0, -1)  # the zero-level segment last found
    at = text.find(identifier)
    while at != -1:
        level += _net_level(text, counted, at)
        counted = at
        if last is not None and last[0] < at < last[1]:
            start, end = last
            passed = end
        elif level <= 0:
            if not item[0] <= at < item[1]:
                item = (_backward_hit(text, at, level, 1) + 1, _forward_hit(text, at, level, 1))
            start, end = item
            passed = end
        else:
            start, end, passed = _run(text, passed, at)
        if start < end:
            yield start, end
        at = text.find(identifier, max(at + len(identifier), passed))


def _net_level(text: str, start: int, end: int) -> int:
    """How far ``text[start:end]`` raises the level: its ``(`` less its ``)``, escaped ones
    aside (``start`` is never a parenthesis escaped from before it)."""
    opens = text.count("(", start, end) - text.count("\\(", start, end)
    return opens - text.count(")", start, end) + text.count("\\)", start, end)


def _last_segment(text: str, final: int) -> tuple[int, int] | None:
    """The segment ComfyUI ends a text with whose last group never closes (``final``,
    the level at the end, is above zero), as (start, end): see
    :func:`_segments_of_unpaired`. None past ``MAX_TRAILING_WEIGHTS`` weighted steps:
    the text is then read as runs between parentheses there."""
    end = len(text)
    depth = 0
    weighted = 0
    while end > 0 and text[end - 1] == ")" and _is_paren(text, end - 1):
        # A run of ")" strips one level each, with nothing between them to weigh.
        run = _closing_run(text, end)
        depth += run - 1
        end -= run - 1
        close = end - 1
        colon = text.rfind(":", _last_paren(text, 0, close, bounded=True) + 1, close)
        if colon != -1 and _is_weight(text, colon + 1, close):
            weighted += 1
            if weighted > MAX_TRAILING_WEIGHTS:
                return None
            end = colon
        else:
            end = close
        depth += 1
    # What follows end holds depth ")" and no "(": the level there is final + depth.
    return _backward_hit(text, end, final + depth, depth), end


def _closing_run(text: str, end: int) -> int:
    """How many ``)`` end at ``end`` (the last one not escaped), escaped ones aside."""
    run = 0
    position = end
    width = 16
    while position > 0:
        low = max(0, position - width)
        chunk = text[low:position]
        stripped = len(chunk) - len(chunk.rstrip(")"))
        run += stripped
        position -= stripped
        if stripped < len(chunk):
            break
        width = min(width * 2, _WINDOW)
    if position > 0 and text[position - 1] == "\\":
        run -= 1  # the first of them is escaped: text
    return run


def _steps(text: str, start: int, end: int, table: bytes) -> bytes:
    """One byte per character of ``text[start:end]``: what ``table`` makes of ``(`` and
    ``)`` (+1 or -1), 0 for any other character and for escaped parentheses."""
    window = text[start:end]
    if start and text[start - 1] == "\\" and window[:1] in ("(", ")"):
        window = "\0" + window[1:]  # escaped by the backslash before the window
    window = window.replace("\\(", "\\\0").replace("\\)", "\\\0")
    return window.encode("latin-1", "replace").translate(table)


def _forward_hit(text: str, start: int, level: int, target: int) -> int:
    """The first place at or after ``start`` after which the level is ``target``, the
    level before ``start`` being ``level`` (``len(text)``: none)."""
    while start < len(text):
        end = min(len(text), start + _LEVEL_WINDOW)
        levels = list(accumulate(array("b", _steps(text, start, end, _RISES)), initial=level))
        try:
            return start + levels.index(target, 1) - 1
        except ValueError:
            level = levels[-1]
            start = end
    return len(text)


def _backward_hit(text: str, end: int, level: int, target: int) -> int:
    """The last place before ``end`` before which the level is ``target``, the level at
    ``end`` being ``level`` (-1: none)."""
    while end > 0:
        start = max(0, end - _LEVEL_WINDOW)
        steps = _steps(text, start, end, _FALLS)[::-1]
        levels = list(accumulate(array("b", steps), initial=level))
        try:
            return end - levels.index(target, 1)
        except ValueError:
            level = levels[-1]
            end = start
    return -1


def _is_paren(text: str, at: int) -> bool:
    """Whether the parenthesis at ``at`` is one (not escaped by a backslash before it)."""
    return at == 0 or text[at - 1] != "\\"
