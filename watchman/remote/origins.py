"""The keys of hosts and origins: what a concurrency limit and a credential belong to."""

from __future__ import annotations

import httpx


def host_of(url: httpx.URL) -> str:
    """Return the per-host key of ``url``: lower-case host, with the port when explicit."""
    host = (url.host or "").lower()
    return f"{host}:{url.port}" if url.port is not None else host


def host_key(url: str) -> str:
    """Return the per-host key of the shared host state: lower-case host, with the port
    when explicit."""
    return host_of(httpx.URL(url))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def credentials_key(url: httpx.URL | str) -> str:
    """Return the origin a credential belongs to: ``scheme://host:port``, lower case, with
    the scheme's default port filled in (``https://a.com`` and ``https://a.com:443`` are one
    origin; ``http://a.com`` is another)."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    scheme = parsed.scheme.lower()
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parsed.host or '').lower()}:{port}"
