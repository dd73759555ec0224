"""Download URLs compared as downloads: two spellings of one Hub file are one file.

Pure functions over URL text; nothing is fetched.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

_HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
# Query keys that change how a file is served, not which file it is.
_PRESENTATION_KEYS = frozenset({"download", "dl"})


def download_key(url: str) -> str:
    """Return a comparison key for a download URL.

    Scheme and host lower-cased, a default port dropped, the path percent-decoded, a Hub
    ``/blob/`` link read as ``/resolve/`` (the page and the file are one file), and
    ``?download=true`` dropped; any other query is kept (Civitai's ``?type=`` picks a
    file).
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: compare the text as written
        port = None
    scheme = parts.scheme.lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = unquote(parts.path)
    if host in _HUB_HOSTS:
        host = "huggingface.co"
        segments = path.split("/")
        if len(segments) > 4 and segments[3] == "blob":
            segments[3] = "resolve"
        path = "/".join(segments)
    query = "&".join(
        sorted(
            item
            for item in parts.query.split("&")
            if item and item.split("=", 1)[0].lower() not in _PRESENTATION_KEYS
        )
    )
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def same_download(left: str, right: str) -> bool:
    """Return True when two URLs name one download (see ``download_key``)."""
    return download_key(left) == download_key(right)


def hub_download_url(url: str) -> str:
    """Return a Hub ``/blob/`` page link as its ``/resolve/`` download link; any other URL
    as given."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _HUB_HOSTS:
        return url
    segments = parts.path.split("/")
    if len(segments) > 4 and segments[3] == "blob":
        segments[3] = "resolve"
        return parts._replace(path="/".join(segments)).geturl()
    return url


_CIVITAI_HOSTS = frozenset({"civitai.com", "www.civitai.com", "api.civitai.com"})


def as_download_url(url: str) -> str | None:
    """Return the download link a workflow's URL for a file stands for, or None when the
    URL is a page rather than a file.

    A Hub ``/blob/`` page link becomes its ``/resolve/`` link; a Hub URL that is neither
    (a repository or tree page) is no file. A Civitai URL is a file only under
    ``/api/download/``: an image or model page names no file (the Civitai backend reads
    those). Any other http(s) URL is taken as given.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    segments = parts.path.split("/")
    if host in _HUB_HOSTS:
        if len(segments) > 4 and segments[3] in ("resolve", "blob"):
            return hub_download_url(text)
        return None
    if host in _CIVITAI_HOSTS:
        return text if parts.path.startswith("/api/download/") else None
    return text
