"""File-name rules of resolution: normalising workflow values, exact comparison, generic
names, and the bounded set of search terms derived from a file name. Pure functions.

A listed name matches a requested one when it is equal, or equal after lower-casing the
ASCII letters A-Z only: no Unicode case folding (``straße`` is not ``strasse``, the ``ﬁ``
ligature is not ``fi``), no trimming, no path stripping. ComfyUI lists files by their exact
names, and a download lands under the listed name, so anything looser is a different file.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import unquote, urlsplit

from watchman.comfy.model_key import normalise_relative_path, value_parts

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


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WEB_URL = re.compile(r"^https?://", re.IGNORECASE)

# Names that many unrelated repositories use for their weights (diffusers, transformers,
# training scripts): the name alone says nothing about which model the file is.
GENERIC_NAMES = frozenset(
    {
        "model.safetensors",
        "model.bin",
        "model.ckpt",
        "model.pt",
        "model.pth",
        "model.onnx",
        "model.gguf",
        "pytorch_model.bin",
        "pytorch_model.safetensors",
        "pytorch_model.pt",
        "pytorch_model.pth",
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.bin",
        "diffusion_pytorch_model.fp16.safetensors",
        "diffusion_pytorch_model.fp16.bin",
        "diffusion_pytorch_model.bf16.safetensors",
        "pytorch_lora_weights.safetensors",
        "pytorch_lora_weights.bin",
        "lora.safetensors",
        "lora.bin",
        "lora.pt",
        "adapter_model.safetensors",
        "adapter_model.bin",
        "ip-adapter.bin",
        "ip-adapter.safetensors",
        "image_encoder.safetensors",
        "vae.safetensors",
        "vae.pt",
        "unet.safetensors",
        "text_encoder.safetensors",
        "weights.safetensors",
        "weights.pth",
        "weights.bin",
        "checkpoint.pth",
        "checkpoint.safetensors",
        "last.ckpt",
        "last.safetensors",
        "best.pt",
        "final.safetensors",
        "ema.safetensors",
        "tf_model.h5",
        "flax_model.msgpack",
    }
)
# Sharded weights (model-00001-of-00005.safetensors) are generic too.
_GENERIC_SHARD = re.compile(
    r"^(model|pytorch_model|diffusion_pytorch_model)(\.[a-z0-9]+)?-\d{5}-of-\d{5}\.[a-z0-9]+$"
)


class NameMatch(enum.Enum):
    """How a listed name matches the requested one."""

    EXACT = "exact"
    CASE = "case"  # equal after ASCII lower-casing only


def ascii_lower(text: str) -> str:
    """Return ``text`` with the ASCII letters A-Z lower-cased and nothing else changed."""
    return text.translate(_ASCII_LOWER)


def name_match(listed: str, wanted: str) -> NameMatch | None:
    """Compare a listed file name with the requested one.

    Takes the name exactly as a listing gives it (no separators allowed: a name with a
    path part is not a file name) and the requested base name. Returns EXACT for equal
    strings, CASE for names equal after ASCII lower-casing, else None.
    """
    if not listed or "/" in listed or "\\" in listed or listed in (".", ".."):
        return None
    if listed == wanted:
        return NameMatch.EXACT
    if ascii_lower(listed) == ascii_lower(wanted):
        return NameMatch.CASE
    return None


def is_generic_name(file_name: str) -> bool:
    """Return True for a name many unrelated repositories use (``model.safetensors``,
    ``pytorch_model.bin``, sharded weights ...): only a source that ties the name to its
    repository may say which file it is."""
    lowered = ascii_lower(file_name)
    return lowered in GENERIC_NAMES or bool(_GENERIC_SHARD.match(lowered))


def is_web_url(value: str) -> bool:
    """Return True when ``value`` is an http(s) URL (a workflow value may be one)."""
    return bool(_WEB_URL.match(value.strip()))


def normalise_value(value: str) -> str:
    """Return a workflow value as the relative path it means, case kept: ModelKey's rule
    (:func:`watchman.comfy.model_key.normalise_relative_path`), after trimming blanks.

    A value that is itself an http(s) URL (a loader fed a Hub or Civitai link) becomes the
    file name its URL path ends with: the URL is where to get it, not a folder.
    """
    if is_web_url(value):
        path = urlsplit(value.strip()).path.rstrip("/")
        return value_parts(unquote(path.rsplit("/", 1)[-1])).file_name
    return normalise_relative_path(value.strip())


def file_name_of(value: str) -> str:
    """Return the base name of a workflow value (``SDXL\\a.safetensors`` -> ``a.safetensors``)."""
    return value_parts(normalise_value(value)).file_name


def subfolder_of(value: str) -> str:
    """Return the folder part of a workflow value with ``/`` separators, or ``""``."""
    return value_parts(normalise_value(value)).subfolder


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
