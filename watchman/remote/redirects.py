"""Which answers are redirects the gateway follows itself, and where they lead.

The gateway follows redirects one hop at a time (never httpx's own following), so each
hop is sent with its own origin's credentials only: no token crosses to another host or
over plain HTTP.
"""

from __future__ import annotations

import httpx

from watchman.errors import BackendError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_target(current: httpx.URL, response: httpx.Response, host: str) -> httpx.URL | None:
    """Return where ``response`` (an answer of ``host`` to ``current``) redirects to, or
    None when it is not a redirect with a ``Location``.

    Raises:
        BackendError: ``bad_response`` when the ``Location`` is not a valid address.
    """
    if response.status_code not in REDIRECT_STATUSES or "location" not in response.headers:
        return None
    try:
        return current.join(response.headers["location"])
    except (httpx.InvalidURL, ValueError):
        raise BackendError(f"{host} redirected to an invalid address.", "bad_response") from None
