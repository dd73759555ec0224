"""The data of resolution: what is asked (``SearchRequest``) and what was learned
(``SearchResult`` with its ``Status`` and ``Candidate`` list). Frozen values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from watchman.comfy.folders import is_model_file_name
from watchman.comfy.model_key import ModelKey
from watchman.resolve.names import file_name_of, is_web_url, subfolder_of
from watchman.resolve.urls import as_download_url


class Status(str, Enum):
    """How sure a resolution is.

    FOUND: a source's own file listing holds this exact file name (case-insensitive).
    UNCERTAIN: candidates exist, none verified exact; all are kept.
    NOT_FOUND: the backends searched and saw nothing (or none could run; see ``reason``).
    ERROR: no backend could answer (network, auth, rate limit, gated); see ``reason``.
    """

    FOUND = "FOUND"
    UNCERTAIN = "UNCERTAIN"
    NOT_FOUND = "NOT_FOUND"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Candidate:
    """A possible source that was not verified as the exact file (or a verified alternative).

    ``url`` is only ever a URL that a listing returned; text from an LLM goes to ``note``.
    """

    file_name: str
    url: str | None
    source: str
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the candidate as a JSON-ready dict."""
        return {
            "file_name": self.file_name,
            "url": self.url,
            "source": self.source,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        """Build a candidate from ``to_json`` output; missing fields become None."""
        return cls(
            file_name=str(data.get("file_name") or ""),
            url=_optional_str(data.get("url")),
            source=str(data.get("source") or ""),
            note=_optional_str(data.get("note")),
        )


@dataclass(frozen=True)
class SearchRequest:
    """One missing model to find.

    ``value`` is the workflow value as written (``SDXL\\foo.safetensors``); ``folder`` the
    canonical ComfyUI folder type from the loader, which wins over any remote site's type.
    ``folder_entry``: the value names a model folder, not a file (``model_folders``).
    """

    value: str
    folder: str | None
    embedded_url: str | None = None
    embedded_hash: str | None = None
    embedded_hash_type: str | None = None
    folder_entry: bool = False

    @property
    def source_url(self) -> str | None:
        """The download URL the workflow gives for this file: the embedded one, else the
        value itself when the loader was fed a link; None when there is none, or when it
        is a page (a Civitai image or model page, a Hub repository page) rather than a
        file (``urls.as_download_url``)."""
        if self.embedded_url and is_web_url(self.embedded_url):
            return as_download_url(self.embedded_url)
        if is_web_url(self.value) and is_model_file_name(self.file_name):
            return as_download_url(self.value)
        return None

    @property
    def sha256(self) -> str | None:
        """The workflow's sha256 for this file, lower-case, or None (absent, another hash
        type, or not 64 hex digits)."""
        return as_sha256(self.embedded_hash, self.embedded_hash_type)

    @property
    def file_name(self) -> str:
        """The base name: ``foo.safetensors`` for ``SDXL\\foo.safetensors``."""
        return file_name_of(self.value)

    @property
    def subfolder(self) -> str:
        """The folder part of the value with ``/`` separators, or ``""``."""
        return subfolder_of(self.value)

    @property
    def key(self) -> str:
        """A stable key: the text of the value's :class:`ModelKey`, so the resolver, its
        cache and the report agree on which requests are the same model."""
        return ModelKey.of(self.folder, self.value).text


@dataclass(frozen=True)
class SearchResult:
    """What resolution learned about one request.

    ``backend`` names the remote backend, or the known source, that answered. ``reason`` is
    a short code (``unreachable``, ``timeout``, ``rate_limited``, ``auth_required``,
    ``gated``, ``bad_response``, ``offline``, ``no backend ran`` ...) and ``detail`` a
    sentence for a person. ``errors`` lists ``backend: reason`` for every backend that
    failed along the way, even when another one answered.
    """

    status: Status
    backend: str | None
    file_name: str
    folder: str | None
    subfolder: str = ""
    download_url: str | None = None
    size: int | None = None
    sha256: str | None = None
    candidates: tuple[Candidate, ...] = ()
    reason: str | None = None
    detail: str | None = None
    errors: tuple[str, ...] = field(default=())
    # When a remote backend answered (ISO 8601, UTC); None for local, uncached answers.
    resolved_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict (the report and the cache store this)."""
        return {
            "status": self.status.value,
            "backend": self.backend,
            "file_name": self.file_name,
            "folder": self.folder,
            "subfolder": self.subfolder,
            "download_url": self.download_url,
            "size": self.size,
            "sha256": self.sha256,
            "candidates": [candidate.to_json() for candidate in self.candidates],
            "reason": self.reason,
            "detail": self.detail,
            "errors": list(self.errors),
            "resolved_at": self.resolved_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchResult:
        """Build a result from ``to_json`` output.

        Raises:
            ValueError: ``status`` is not one of the four statuses.
        """
        size = data.get("size")
        raw_candidates = data.get("candidates") or []
        return cls(
            status=Status(data.get("status")),
            backend=_optional_str(data.get("backend")),
            file_name=str(data.get("file_name") or ""),
            folder=_optional_str(data.get("folder")),
            subfolder=str(data.get("subfolder") or ""),
            download_url=_optional_str(data.get("download_url")),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=_optional_str(data.get("sha256")),
            candidates=tuple(
                Candidate.from_json(item) for item in raw_candidates if isinstance(item, Mapping)
            ),
            reason=_optional_str(data.get("reason")),
            detail=_optional_str(data.get("detail")),
            errors=tuple(str(item) for item in data.get("errors") or []),
            resolved_at=_optional_str(data.get("resolved_at")),
        )


def result_for(
    request: SearchRequest,
    status: Status,
    backend: str | None,
    **values: Any,
) -> SearchResult:
    """Return a result for ``request`` carrying its file name, folder and subfolder.

    ``values`` are the other ``SearchResult`` fields; a ``folder`` given there is used only
    when the request has none, because the workflow loader's folder wins.
    """
    remote_folder = values.pop("folder", None)
    return SearchResult(
        status=status,
        backend=backend,
        file_name=request.file_name,
        folder=request.folder or remote_folder,
        subfolder=request.subfolder,
        **values,
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


_HEX = frozenset("0123456789abcdef")


def as_sha256(value: Any, hash_type: Any = None) -> str | None:
    """Return ``value`` lower-cased when it is a sha256 (64 hex digits, and ``hash_type``
    absent or naming SHA-256), else None."""
    if not isinstance(value, str):
        return None
    if isinstance(hash_type, str) and hash_type.strip().lower().replace("-", "") != "sha256":
        return None
    text = value.strip().lower()
    return text if len(text) == 64 and set(text) <= _HEX else None


class Backend(Protocol):
    """A remote backend: searches for one request.

    ``search`` returns FOUND, UNCERTAIN or NOT_FOUND, and raises ``BackendError`` (with a
    reason code) when the service could not answer.
    """

    name: str

    def search(self, request: SearchRequest) -> SearchResult: ...
