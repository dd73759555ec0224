"""The options of the HTTP path (``HttpOptions``) and the per-host state they set up,
shared by every gateway over one client (``hosts_for``)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import httpx

from watchman.remote.hosts import HostStates

MIB = 1024 * 1024


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts, retries and limits of the HTTP path (tests shrink the waits).

    ``timeout_seconds`` is the longest silence of one read (and of the connect, unless
    ``connect_timeout_seconds``); ``total_deadline_seconds`` bounds a whole call;
    ``max_response_bytes`` is the default size cap of a body.
    """

    timeout_seconds: float = 20.0
    connect_timeout_seconds: float | None = None
    max_retries: int = 3
    per_host_concurrency: int = 2
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    retry_after_max_seconds: float = 86400.0
    max_redirects: int = 5
    total_deadline_seconds: float = 120.0
    max_response_bytes: int = 16 * MIB
    host_down_seconds: float = 1800.0


_hosts_by_client: weakref.WeakKeyDictionary[httpx.Client, HostStates] = weakref.WeakKeyDictionary()
_hosts_lock = threading.Lock()


def hosts_for(client: httpx.Client, options: HttpOptions | None = None) -> HostStates:
    """Return the host state shared by every gateway over ``client``.

    A process has one client (``services.py`` makes it), so the resolver's gateways, the
    Qwen tool calls, the node map, the ComfyUI server and the downloads all meet one
    state per host: its slots, its pauses, its down mark. The first gateway over a client
    sets the per-host concurrency and the down time (``options``).
    """
    options = options or HttpOptions()
    with _hosts_lock:
        hosts = _hosts_by_client.get(client)
        if hosts is None:
            hosts = HostStates(options.per_host_concurrency, down_seconds=options.host_down_seconds)
            _hosts_by_client[client] = hosts
        return hosts
