"""File-name rules of resolution: normalising workflow values, exact comparison, and the
bounded set of search terms derived from a file name. Pure functions."""

from __future__ import annotations

import re

# Suffixes that say how a file was saved rather than what it is; search indexes know the
# model by its name without them.
_PRECISION = re.compile(
    r"[-_. ]?(fp8_e4m3fn(_scaled)?|fp8_e5m2|fp8mixed|fp8|fp16|fp32|bf16|nf4|int8|int4|"
    r"q[2-8]_k(_[sml])?|q[2-8]_[01]|gguf|pruned|emaonly|ema|full|scaled)$",
    re.IGNORECASE,
)
_VERSION = re.compile(r"[-_. ]?v?\d+(?:[._-]\d+)*[a-z]?$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[-_.\s]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_MIN_TERM_LENGTH = 3


def normalise_value(value: str) -> str:
    """Return a workflow value with ``/`` separators and no leading ``./`` or slashes."""
    text = value.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.strip("/")


def file_name_of(value: str) -> str:
    """Return the base name of a workflow value (``SDXL\\a.safetensors`` -> ``a.safetensors``)."""
    return normalise_value(value).rsplit("/", 1)[-1]


def subfolder_of(value: str) -> str:
    """Return the folder part of a workflow value with ``/`` separators, or ``""``."""
    normalised = normalise_value(value)
    return normalised.rsplit("/", 1)[0] if "/" in normalised else ""


def same_file_name(left: str, right: str) -> bool:
    """Return True when two file names are exactly equal, ignoring case only."""
    return file_name_of(left).casefold() == file_name_of(right).casefold()


def split_extension(file_name: str) -> tuple[str, str]:
    """Return ``(stem, extension)``; the extension keeps its dot, or is ``""``."""
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not stem:
        return file_name, ""
    return stem, f".{extension}"


def loose_key(file_name: str) -> str:
    """Return the stem lower-cased with separators removed: two names with the same loose
    key are near names (a candidate at best, never FOUND)."""
    stem, _ = split_extension(file_name_of(file_name))
    return _SEPARATORS.sub("", stem).casefold()


def search_terms(file_name: str, max_terms: int) -> tuple[str, ...]:
    """Return at most ``max_terms`` search terms for a file name, most specific first.

    The stem comes first, then reductions: version and precision suffixes stripped,
    separators turned into spaces, camel case split. Reductions shorter than three
    characters and repeats (ignoring case) are dropped.
    """
    stem, _ = split_extension(file_name_of(file_name))
    reduced = stem
    for _ in range(4):
        shorter = _VERSION.sub("", _PRECISION.sub("", reduced))
        if shorter == reduced or len(shorter) < _MIN_TERM_LENGTH:
            break
        reduced = shorter
    spaced = _SEPARATORS.sub(" ", reduced).strip()
    camel_split = _CAMEL.sub(" ", spaced)
    first_word = spaced.split(" ")[0] if spaced else ""
    ordered = (stem, reduced, spaced, camel_split, first_word)
    terms: list[str] = []
    seen: set[str] = set()
    for term in ordered:
        folded = term.casefold()
        # The stem itself is always searched; shorter reductions would match too much.
        if not term or (term is not stem and len(term) < _MIN_TERM_LENGTH) or folded in seen:
            continue
        seen.add(folded)
        terms.append(term)
    return tuple(terms[:max_terms])


def first_folder_segment(path: str) -> str | None:
    """Return the first part of a folder path (``controlnet/SDXL`` -> ``controlnet``)."""
    first = normalise_value(path).split("/", 1)[0]
    return first or None
