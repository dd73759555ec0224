"""Civitai's answers read leniently: the files a model listing, a version or an image
names, each field checked for type and range (absent, null, of another type or absurd
means "unknown", never a crash). The backend that asks is :mod:`watchman.resolve.civitai`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from watchman.resolve.evidence import FolderClaim, civitai_claim
from watchman.resolve.model import as_sha256

logger = logging.getLogger(__name__)

# Items that are not model files a loader can use.
NON_MODEL_TYPES = frozenset({"workflows", "wildcards", "poses", "aestheticgradient"})


@dataclass(frozen=True)
class CivitaiFile:
    """One file of a model version, as listed by Civitai."""

    name: str
    download_url: str | None
    size: int | None
    sha256: str | None
    claim: FolderClaim
    model_name: str | None
    primary: bool = False


def validate_civitai_image_response(
    image_id: int | str, payload: Any, url: str | None = None
) -> bool:
    """Return True when an ``/api/v1/images`` answer is about ``image_id``.

    A payload without items, or whose first item has no id or another id, is rejected
    (logged at DEBUG with the requested id, the returned id and the URL): Civitai has
    answered unrelated images for an unknown id before.
    """
    items = as_list(payload.get("items")) if isinstance(payload, dict) else []
    first = items[0] if items and isinstance(items[0], dict) else {}
    returned = as_int(first.get("id"))
    requested = as_int(image_id)
    if returned is None or requested is None or returned != requested:
        logger.debug(
            "Civitai images answer rejected: requested id %s, returned id %s, url %s",
            image_id,
            first.get("id"),
            url,
        )
        return False
    return True


def files_of_models(items: Iterable[Any]) -> Iterator[CivitaiFile]:
    for item in items:
        if not isinstance(item, dict):
            continue
        model_type = text_of(item.get("type"))
        if (model_type or "").replace(" ", "").lower() in NON_MODEL_TYPES:
            continue
        model_name = text_of(item.get("name"))
        for version in as_list(item.get("modelVersions")):
            yield from files_of_version(version, (model_type, model_name))


def files_of_version(
    version: Any, model: tuple[str | None, str | None] | None
) -> Iterator[CivitaiFile]:
    if not isinstance(version, dict):
        return
    if model is None:
        # A version fetched on its own names its model in a nested object.
        nested = as_dict(version.get("model"))
        model = (text_of(nested.get("type")), text_of(nested.get("name")))
    model_type, model_name = model
    if (model_type or "").replace(" ", "").lower() in NON_MODEL_TYPES:
        return
    version_url = text_of(version.get("downloadUrl"))
    for entry in as_list(version.get("files")):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        claim = civitai_claim(model_type, text_of(entry.get("type")))
        if claim is None:
            continue  # a config, training data or an archive: not weights a loader reads
        yield CivitaiFile(
            name=entry["name"],
            download_url=text_of(entry.get("downloadUrl")) or version_url,
            size=_size_of(entry.get("sizeKB")),
            sha256=_sha256_of(entry.get("hashes")),
            claim=claim,
            model_name=model_name,
            primary=entry.get("primary") is True,
        )


def image_version_ids(item: dict[str, Any]) -> list[int]:
    raw: list[Any] = [*as_list(item.get("modelVersionIds")), item.get("modelVersionId")]
    meta = as_dict(item.get("meta"))
    raw += [
        resource.get("modelVersionId")
        for resource in as_list(meta.get("civitaiResources"))
        if isinstance(resource, dict)
    ]
    # Unique in order by a dict: a server's long list would make a list's "in" quadratic.
    return list(dict.fromkeys(number for number in map(as_int, raw) if number is not None))


# No model file is a petabyte: a larger (or infinite, or NaN) size is a broken field.
_MAX_SIZE_KB = 1024.0**4


def _size_of(size_kb: Any) -> int | None:
    if isinstance(size_kb, bool) or not isinstance(size_kb, (int, float)):
        return None
    if not math.isfinite(size_kb) or not 0 < size_kb <= _MAX_SIZE_KB:
        return None
    return round(size_kb * 1024)


def _sha256_of(hashes: Any) -> str | None:
    if not isinstance(hashes, dict):
        return None
    for key, value in hashes.items():
        if isinstance(key, str) and key.upper() == "SHA256":
            return as_sha256(value)
    return None


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # Ids are small numbers; a thousand-digit string is not one (and int() would refuse).
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        return int(text) if len(text) <= 19 else None
    return None
