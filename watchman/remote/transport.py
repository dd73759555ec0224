"""An httpx transport whose every socket wait can be cut short by a stop or a deadline.

A plain httpx client blocks in ``recv`` for up to its read timeout, and closing the
client from another thread does not wake it. Here every blocking step (connect, TLS
handshake, each read and write) waits in slices of at most ``POLL_SECONDS``; between
slices it looks at the guard the calling thread set with ``guarded(stop_event,
deadline)``. A set stop event ends the step with ``httpx.ReadError``-like transport
errors and a passed deadline with a timeout, within one slice; the gateway then raises
its own ``interrupted`` or deadline error. Without a guard the transport behaves like
httpx's own, with the timeouts the request carries.

A host name is looked up in a helper thread that the caller stops waiting for in the
same slices (the lookup itself then ends on its own, at the system resolver's timeout).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

# The longest a blocked socket waits before the stop event and the deadline are looked at.
POLL_SECONDS = 0.2

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Guard:
    stop_event: threading.Event | None
    deadline: float | None  # time.monotonic()


_local = threading.local()


@contextlib.contextmanager
def guarded(stop_event: threading.Event | None, deadline: float | None) -> Iterator[None]:
    """Make every socket wait of this thread end once ``stop_event`` is set or the
    monotonic ``deadline`` passes (a stop ends it as a read/connect error, the deadline
    as a timeout)."""
    previous = getattr(_local, "guard", None)
    _local.guard = _Guard(stop_event, deadline)
    try:
        yield
    finally:
        _local.guard = previous


def _guard() -> _Guard | None:
    return getattr(_local, "guard", None)


def _sliced(
    operation: Callable[[float], _T],
    timeout: float | None,
    on_timeout: type[Exception],
    on_error: type[Exception],
) -> _T:
    """Run a blocking ``operation`` in slices until it completes, the step's own
    ``timeout`` passes (``on_timeout``), the guard's deadline passes (``on_timeout``) or
    the guard's stop event is set (``on_error``).

    ``operation(wait)`` must block at most ``wait`` seconds and raise ``TimeoutError``
    when nothing happened in that time.
    """
    limit = None if timeout is None else time.monotonic() + timeout
    guard = _guard()
    while True:
        now = time.monotonic()
        if guard is not None and guard.stop_event is not None and guard.stop_event.is_set():
            raise on_error("a stop was asked for")
        wait = POLL_SECONDS
        if limit is not None:
            wait = min(wait, limit - now)
        if guard is not None and guard.deadline is not None:
            wait = min(wait, guard.deadline - now)
        if wait <= 0:
            raise on_timeout("timed out")
        try:
            return operation(wait)
        except (TimeoutError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue
        except OSError as error:
            raise on_error(str(error) or type(error).__name__) from error


def _on(sock: socket.socket, call: Callable[..., _T], *args: Any) -> Callable[[float], _T]:
    """Return ``call(*args)`` as a sliced operation on ``sock`` (its timeout is the slice)."""

    def operation(wait: float) -> _T:
        sock.settimeout(wait)
        return call(*args)

    return operation


class _Stream(httpcore.NetworkStream):
    """A socket (plain or TLS) whose reads, writes and handshake wait in slices."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _sliced(
            _on(self._sock, self._sock.recv, max_bytes),
            timeout,
            httpcore.ReadTimeout,
            httpcore.ReadError,
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        while view:
            sent = _sliced(
                _on(self._sock, self._sock.send, view),
                timeout,
                httpcore.WriteTimeout,
                httpcore.WriteError,
            )
            view = view[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            tls = ssl_context.wrap_socket(
                self._sock, server_hostname=server_hostname, do_handshake_on_connect=False
            )
            _sliced(
                _on(tls, tls.do_handshake), timeout, httpcore.ConnectTimeout, httpcore.ConnectError
            )
        except BaseException:
            self._sock.close()
            raise
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # as httpcore's own stream
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _is_readable(self._sock)
        return None


def _is_readable(sock: socket.socket) -> bool:
    # A kept-alive connection that is readable while idle was closed (or spoke out of turn).
    if sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, 10035}  # 10035: Windows


class StoppableBackend(httpcore.NetworkBackend):
    """httpcore's network backend with connects that wait in slices (see the module)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _lookup(host, port, timeout)
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for family, kind, protocol, _, address in addresses:
            sock = socket.socket(family, kind, protocol)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if local_address is not None:
                    sock.bind((local_address, 0))
                _connect(sock, address, timeout)
            except httpcore.ConnectError as error:
                sock.close()
                failure = error
                continue
            except BaseException:
                sock.close()
                raise
            return _Stream(sock)
        raise failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _lookup(host: str, port: int, timeout: float | None) -> list[Any]:
    """Return the addresses of ``host``; a name is looked up in a helper thread so a stop
    or the deadline need not wait for the system resolver's own timeout."""
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if literal:  # nothing to look up: answered at once
        try:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
    answer: list[Any] = []
    failure: list[OSError] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            answer.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            failure.append(error)
        finally:
            done.set()

    # A daemon thread: when the caller gives up, the lookup ends on its own, unheeded.
    threading.Thread(target=look_up, name=f"lookup {host}", daemon=True).start()

    def wait_done(wait: float) -> None:
        if not done.wait(wait):
            raise TimeoutError()

    _sliced(wait_done, timeout, httpcore.ConnectTimeout, httpcore.ConnectError)
    if failure:
        raise httpcore.ConnectError(str(failure[0])) from failure[0]
    return answer


def _connect(sock: socket.socket, address: Any, timeout: float | None) -> None:
    sock.setblocking(False)
    code = sock.connect_ex(address)
    if code not in (0, *_IN_PROGRESS):
        raise httpcore.ConnectError(os.strerror(code))
    if code != 0:

        def wait_writable(wait: float) -> None:
            _, writable, failed = select.select([], [sock], [sock], wait)
            if not writable and not failed:
                raise TimeoutError()

        _sliced(wait_writable, timeout, httpcore.ConnectTimeout, httpcore.ConnectError)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code != 0:
            raise httpcore.ConnectError(os.strerror(code))
    sock.setblocking(True)


# httpcore's errors as httpx's, most specific first (as httpx's own transport maps them).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for source, target in _ERRORS:
            if isinstance(error, source):
                raise target(str(error)) from error
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


class StoppableTransport(httpx.BaseTransport):
    """An HTTP/1.1 connection pool over ``StoppableBackend`` (TLS verified as httpx does)."""

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_connections: int = 20) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else None
        self._pool = httpcore.ConnectionPool(
            ssl_context=context or httpx.create_ssl_context(verify=verify),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=StoppableBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_Body(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def new_client(**options: Any) -> httpx.Client:
    """Return an ``httpx.Client`` over ``StoppableTransport``, which the gateway needs for
    a stop or a deadline to cut a blocked read short (``options`` go to ``httpx.Client``;
    ``verify``, True or an ``ssl.SSLContext``, to the transport)."""
    options.setdefault("headers", {"User-Agent": "comfywatchman"})
    options.setdefault("follow_redirects", False)
    transport = StoppableTransport(verify=options.pop("verify", True))
    return httpx.Client(transport=transport, **options)
