"""Decoding a stranger's JSON with bounded depth and no string Python cannot print.

orjson decodes in C without touching Python's stack (it refuses nesting past 1024 levels
by itself); the document is then checked against ``MAX_JSON_DEPTH`` by a scan of its text
(``text_nesting_depth``, byte operations in C, far cheaper than walking every decoded
value), so nothing downstream (``str()``, ``repr()``, a log line) can exhaust the
stack on a value from the file.

Two things browsers accept and orjson refuses are read by a second try rather than
reported: a lone UTF-16 surrogate escape (``"\\ud800"``, which ``JSON.parse`` keeps)
becomes the six characters ``\\ud800`` as text, so every decoded string is printable
UTF-8; and Python's ``NaN`` / ``Infinity`` tokens (``json.dumps`` writes them, ComfyUI
stores prompts with it) become ``null``. The second try is the standard library's
decoder, in C and linear in the text: a pattern that found the strings to repair kept a
backtracking frame per escape (a stranger's 50 MB of ``"\\`` pairs after a ``NaN``:
15 s and 3 GiB).
"""

from __future__ import annotations

import json
import re

import orjson

from watchman.errors import WorkflowError

MAX_JSON_DEPTH = 100
"""Deepest nesting of arrays and objects accepted in a workflow document. Real workflows
nest about 10 levels (subgraphs inside subgraphs add 3 each)."""

# A string runs to its closing quote or, unterminated, to the end of the data (a lone
# backslash last included; any byte may follow a backslash): every quote then starts a
# match, so the scan is linear. Were an unterminated string no match, the scan would
# retry at each later quote and read to the end each time: quadratic, a 60 KB stranger's
# file of '"\\' pairs took 18 s.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _none(_: str) -> None:
    return None


def _escaped(text: str) -> str:
    """``text`` with each lone surrogate as the six characters of its escape."""
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group(0)):04x}", text)


def _surrogates_as_text(document: object) -> object:
    """Return ``document`` with every lone surrogate in its keys and strings written as
    its escape. Iterative: the nesting is already bounded, but no recursion is needed."""
    if isinstance(document, str):
        return _escaped(document)
    root: list[object] = [document]
    pending: list[list[object] | dict[str, object]] = [root]
    while pending:
        container = pending.pop()
        items = list(container.items()) if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, str):
                value = _escaped(value)
            elif isinstance(value, (list, dict)):
                pending.append(value)
            if isinstance(container, dict):
                assert isinstance(key, str)
                fixed = _escaped(key)
                if fixed != key:
                    del container[key]
                container[fixed] = value
            else:
                container[key] = value  # type: ignore[index]
    return root[0]


def nesting_depth(document: object, limit: int) -> int:
    """Return how deep arrays and objects nest in ``document`` (a scalar is 0), counting
    no further than ``limit + 1``. Iterative: any depth is safe to measure."""
    deepest = 0
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: object = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        pending.extend(
            (child, depth + 1)
            for child in children  # type: ignore[attr-defined]
            if isinstance(child, (dict, list))
        )
    return deepest


# Every opening bracket becomes "(", every closing one ")"; everything but brackets and
# quotes is dropped, so the scan below works on a few percent of the document.
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKET_OR_QUOTE = bytes(byte for byte in range(256) if byte not in b'[]{}"')


def text_nesting_depth(raw: bytes, limit: int) -> int:
    """Return how deep arrays and objects nest in ``raw``, the bytes of a valid JSON
    document (one ``orjson`` decoded), counting no further than ``limit + 1``.

    The same number ``nesting_depth`` gives for the decoded document, measured on the text
    with C-speed byte operations instead of a walk over every decoded value (the walk was
    most of the cost of parsing thousands of workflows). Escaped backslashes and quotes
    are removed first, so the quotes left delimit strings exactly; the text between them
    (brackets inside strings) is dropped; then each pass removes the innermost "()"
    pairs: the number of passes is the depth.
    """
    if b"\\\\" in raw:
        raw = raw.replace(b"\\\\", b"")
    if b'\\"' in raw:
        raw = raw.replace(b'\\"', b"")
    skeleton = outside_strings(raw.translate(_BRACKETS, _NOT_BRACKET_OR_QUOTE))
    depth = 0
    while skeleton and depth <= limit:
        skeleton = skeleton.replace(b"()", b"")
        depth += 1
    return depth if not skeleton else limit + 1


_WINDOW = 1 << 16


def outside_strings(skeleton: bytes, window: int = _WINDOW) -> bytes:
    """Return ``skeleton`` without what lies between its quote pairs (the quotes too).

    Takes bytes whose quotes delimit strings exactly (escaped ones removed). Works a
    window at a time: splitting a whole document at once makes one object per string,
    and a 33 MB file of three million empty strings then took 370 MiB for the pieces.
    """
    if b'"' not in skeleton:
        return skeleton
    kept = []
    inside = False
    for start in range(0, len(skeleton), window):
        pieces = skeleton[start : start + window].split(b'"')
        kept.append(b"".join(pieces[1::2] if inside else pieces[::2]))
        inside ^= bool((len(pieces) - 1) & 1)
    return b"".join(kept)


def decode_json(data: bytes | str, name: str) -> object:
    """Return the decoded JSON document in ``data`` (UTF-8 bytes, BOM allowed, or text).

    Takes the data and a name for messages. Raises WorkflowError (one sentence naming
    ``name``) when it is not UTF-8 JSON, or when it nests deeper than ``MAX_JSON_DEPTH``
    (the message names the limit).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as first:
        if "depth" in str(first) or "recursion" in str(first).lower():
            raise _too_deep(name) from first
        document = _second_try(raw, name, first)
    if text_nesting_depth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise _too_deep(name)
    return document


def _too_deep(name: str) -> WorkflowError:
    return WorkflowError(
        f"{name} is over a limit: its JSON nests deeper than {MAX_JSON_DEPTH} levels "
        "(MAX_JSON_DEPTH); no workflow does."
    )


def _second_try(raw: bytes, name: str, first: orjson.JSONDecodeError) -> object:
    """Decode what orjson refused with the standard library's decoder, which reads
    ``NaN``/``Infinity`` (as None here) and lone surrogate escapes (as their text).

    Raises:
        WorkflowError: the data is not UTF-8, not JSON (orjson's reason), or nests
            too deep for the decoder.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkflowError(f"{name} is neither UTF-8 JSON nor a PNG/WebP image.") from first
    try:
        document = json.loads(text, parse_constant=_none)
    except RecursionError:
        raise _too_deep(name) from None
    except ValueError:
        raise WorkflowError(f"{name} is not valid JSON ({first}).") from first
    return _surrogates_as_text(document) if "\\u" in text else document
