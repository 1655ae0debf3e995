"""A total deadline for each outbound HTTP attempt, and a session that takes nothing from the
environment and writes no TLS key log (PROTOCOL 13.1).

``requests`` (urllib3) bounds each socket operation, not a request: an endpoint that answers
``HTTP/1.1 200 OK`` and then a byte every few seconds never times out. Here one watchdog thread
shuts down the socket of an attempt that passes its deadline, which ends at once whatever the
attempt is blocked in: the TLS handshake, sending, or reading the status line, the headers or the
body. The socket is found through urllib3's extension point for that (a pool's
``ConnectionCls``) and the attempt through a context variable, so nothing else of urllib3 or
requests is replaced.

Name resolution counts against the same deadline: ``getaddrinfo`` cannot be interrupted, so a
new connection resolves its host on a thread of its own and waits for the answer only as long
as the attempt has left; a resolver slower than that ends the attempt as a timeout. A name has
at most one lookup under way (later attempts wait for it), so a name that hangs holds one
thread until the system resolver gives up, and never holds up the lookup of another name. The
connection is then made to the address found, while TLS (SNI, the certificate's name) and the
``Host`` header still use the host name of the URL.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.ssl_ import is_ipaddress, resolve_cert_reqs

#: The lookups under way, by (host, port): one thread each (a daemon: a lookup that hangs
#: never holds up the process's exit), shared by every attempt that needs the same name. Not a
#: fixed pool of threads: a few names that hang would take every thread of it, and every other
#: destination's lookups would wait behind them until the system resolver gave up.
_lookups: dict[tuple[str, int], Future[Any]] = {}
_lookups_lock = threading.Lock()


def _forked() -> None:  # a child has none of its parent's threads (nor, maybe, a free lock)
    global _lookups_lock
    _lookups_lock = threading.Lock()
    _lookups.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forked)


def _lookup(host: str, port: int) -> Future[Any]:
    """The ``getaddrinfo`` of a TCP connection to ``host``: the one under way, or a new one."""
    key = (host, port)
    with _lookups_lock:
        future = _lookups.get(key)
        if future is None:
            future = _lookups[key] = Future()
            threading.Thread(target=_resolve, args=(key, future), name="callback-dns",
                             daemon=True).start()
        return future


def _resolve(key: tuple[str, int], future: Future[Any]) -> None:
    try:
        found = socket.getaddrinfo(key[0], key[1], allowed_gai_family(), socket.SOCK_STREAM)
    except BaseException as exc:  # noqa: BLE001 - handed to the attempts that wait for it
        outcome: tuple[Any, BaseException | None] = (None, exc)
    else:
        outcome = (found, None)
    with _lookups_lock:
        if _lookups.get(key) is future:
            del _lookups[key]
    if outcome[1] is not None:
        future.set_exception(outcome[1])
    else:
        future.set_result(outcome[0])


class Attempt:
    """One attempt under a deadline. The connection it uses is attached as soon as it is known;
    ``finish`` stops the watch and tells whether the deadline had passed."""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.deadline = deadline
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: Any = None
        self._sock: socket.socket | None = None
        self._expired = False
        self._finished = False

    def attach(self, conn: Any, sock: Any) -> None:
        """The attempt now uses ``conn`` over ``sock`` (shut down at once when already late)."""
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if self._finished:
                return
            conn._hc_attempt = self
            self._conn, self._sock = conn, sock
            if self._expired:
                _shutdown(sock)

    def resolve(self, host: str, port: int) -> list[Any]:
        """``getaddrinfo`` for a TCP connection to ``host``, waited for only until the
        deadline: past it, the attempt is expired and ``TimeoutError`` raised (the lookup ends
        on its thread, its answer unused). ``socket.gaierror`` when the name does not
        resolve."""
        future = _lookup(host, port)
        try:
            found: list[Any] = future.result(timeout=max(self.deadline - self._clock(), 0.0))
            return found
        except FutureTimeout:
            self.expire()
            raise TimeoutError(f"resolving {host} took longer than the deadline") from None

    def left(self) -> float:
        """Seconds until the deadline (0 once it has passed)."""
        return max(self.deadline - self._clock(), 0.0)

    def expire(self) -> None:
        """The deadline passed: end whatever the attempt is blocked in."""
        with self._lock:
            if self._finished or self._expired:
                return
            self._expired = True
            # Only while the connection is still this attempt's: after ``finish`` it may serve
            # another attempt.
            if self._sock is not None and getattr(self._conn, "_hc_attempt", None) is self:
                _shutdown(self._sock)

    def finish(self) -> bool:
        """Stop watching (call it before the connection can go back to the pool); True when
        the deadline had passed."""
        with self._lock:
            self._finished = True
            if getattr(self._conn, "_hc_attempt", None) is self:
                self._conn._hc_attempt = None
            self._conn = self._sock = None
            return self._expired


def _shutdown(sock: socket.socket) -> None:
    # socket.socket's own method, also for an SSLSocket: it acts on the descriptor, so a read
    # blocked inside OpenSSL on another thread returns too.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


_current: ContextVar[Attempt | None] = ContextVar("hoster_compliance_attempt", default=None)


def _attach(conn: Any, sock: Any) -> None:
    attempt = _current.get()
    if attempt is not None:
        attempt.attach(conn, sock)


class Watchdog:
    """One daemon thread that expires attempts at their deadlines (a heap; finished attempts
    are dropped when their deadline comes)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, seconds: float) -> Iterator[Attempt]:
        """The block's HTTP requests (on this thread, through :func:`make_session`'s
        sessions) are cut off ``seconds`` from now."""
        attempt = Attempt(self._clock() + seconds, self._clock)
        with self._cond:
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                self._thread = threading.Thread(target=self._run, name="callback-deadlines",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        token = _current.set(attempt)
        try:
            yield attempt
        finally:
            _current.reset(token)
            attempt.finish()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = self._clock()
                while self._heap and self._heap[0][0] <= now:
                    heapq.heappop(self._heap)[2].expire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


class _WatchedHTTPConnection(HTTPConnection):
    """Attaches its socket to the current attempt: a new one when connecting, a kept-alive one
    when a request starts on it."""

    def _new_conn(self) -> socket.socket:
        attempt = _current.get()
        if attempt is None or is_ipaddress(self._dns_host):
            sock = super()._new_conn()
        else:
            sock = self._connect_resolved(attempt)
        _attach(self, sock)
        return sock

    def _connect_resolved(self, attempt: Attempt) -> socket.socket:
        """Resolve the host within the attempt's deadline, then connect to its addresses in
        turn. Only the TCP connection uses the address (urllib3's ``_dns_host``); SNI, the
        certificate check and the ``Host`` header keep ``self.host``."""
        name = self._dns_host
        try:
            found = attempt.resolve(name, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Resolving {self.host} timed out.") from exc
        failure: NewConnectionError | None = None
        timeout = self.timeout
        for address in dict.fromkeys(str(info[4][0]) for info in found):
            # The socket is watched only once connected: the connect itself gets no more than
            # the attempt has left, so a slow lookup and a hanging connect stay within it.
            left = attempt.left()
            if left <= 0:
                attempt.expire()
                raise ConnectTimeoutError(self, f"Connecting to {self.host} timed out.")
            self._dns_host = address
            if not isinstance(timeout, int | float) or timeout > left:
                self.timeout = left
            try:
                return super()._new_conn()
            except NewConnectionError as exc:  # refused or unreachable: the next address
                failure = exc
            finally:
                self._dns_host, self.timeout = name, timeout
        if failure is None:
            raise NewConnectionError(self, f"{self.host} resolved to no address")
        raise failure

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _attach(self, self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection, _WatchedHTTPConnection):
    """HTTPS with the same hooks (``HTTPSConnection.connect`` calls ``_new_conn`` before the
    TLS handshake, so the handshake is under the deadline too), over a TLS context of its own
    that never logs session keys (:func:`_tls_context`)."""

    #: The context this connection made (:func:`_tls_context`).
    _hc_context: ssl.SSLContext | None = None

    def connect(self) -> None:
        # Any other context is replaced, not only a missing one: requests 2.32.0 to 2.32.4 hand
        # every pool one shared context of urllib3's, made at import, which writes the key log.
        if self._hc_context is None or self.ssl_context is not self._hc_context:
            self.ssl_context = self._hc_context = _tls_context(self)
        super().connect()


def _tls_context(conn: HTTPSConnection) -> ssl.SSLContext:
    """The context urllib3 would make for ``conn`` (``create_urllib3_context``: TLS 1.2 at
    least, no compression, no session tickets, hostname and certificate checked), made without
    reading ``SSLKEYLOGFILE``: urllib3, like ``ssl.create_default_context``, otherwise opens
    the file it names and writes every TLS session secret there, so whoever reads it can decrypt
    our callbacks and alerts. A bare ``SSLContext`` never looks at the environment. One per
    connection, as urllib3 does: the CA certificates loaded into it are that connection's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion(conn.ssl_minimum_version or ssl.TLSVersion.TLSv1_2)
    if conn.ssl_maximum_version is not None:
        context.maximum_version = ssl.TLSVersion(conn.ssl_maximum_version)
    context.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_COMPRESSION | ssl.OP_NO_TICKET
    context.post_handshake_auth = True
    cert_reqs = resolve_cert_reqs(conn.cert_reqs)
    if cert_reqs == ssl.CERT_REQUIRED:
        context.verify_mode = cert_reqs
        context.check_hostname = True
    else:  # verify=False: the order matters, SSLContext refuses check_hostname without it
        context.check_hostname = False
        context.verify_mode = cert_reqs
    context.hostname_checks_common_name = False
    if not (conn.ca_certs or conn.ca_cert_dir or conn.ca_cert_data):
        # requests names its bundle for ``verify=True``, but not when it also handed a context
        # of its own (2.32.0 to 2.32.4): certifi's bundle then too, as requests does.
        context.load_verify_locations(DEFAULT_CA_BUNDLE_PATH)
    return context


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections obey :meth:`Watchdog.watch`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool, "https": _WatchedHTTPSPool,
        }


def make_session() -> requests.Session:
    """A session for outbound requests: deadlines enforced, and nothing taken from the
    environment (``trust_env`` off: no ``.netrc`` credentials, no ``*_PROXY``, no
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``; certificates are checked against certifi's
    bundle, as requests does by default, or the session's ``verify``; and no TLS key log to
    ``SSLKEYLOGFILE``)."""
    session = requests.Session()
    session.trust_env = False
    adapter = WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
