"""The total deadline of a callback attempt, the 64 KiB answer bound and the environment that is
never trusted (PROTOCOL 13.1), against real misbehaving endpoints on loopback."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hoster_compliance.delivery.client import MAX_ANSWER_BYTES, AttemptResult, CallbackClient
from hoster_compliance.delivery.deadline import Attempt, make_session
from hoster_compliance.issuer import CallbackServer
from hoster_compliance.protocol import signing
from tests.helpers.slow_peer import SlowPeer
from tests.helpers.smtp import tls_files

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "order.acknowledged", "data": {"order_id": "o-1"}}).encode()


@pytest.fixture
def client() -> Iterator[CallbackClient]:
    with CallbackClient() as callback_client:
        yield callback_client


def send(client: CallbackClient, url: str, timeout: float = 1.0) -> AttemptResult:
    return client.send(url + "/v1/orders/o-1/acknowledgement", webhook_id="msg_1", body=BODY,
                       signer=signing.Signer(secrets=(SECRET,)), timeout=timeout)


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_trickled_answer_ends_at_the_total_deadline(client: CallbackClient, mode: str) -> None:
    # A byte every 0.3 s: no single read ever waits 1 s, so only a total deadline ends it.
    with SlowPeer(mode, interval=0.3, limit=4.0) as peer:
        started = time.monotonic()
        result = send(client, peer.url, timeout=1.0)
        took = time.monotonic() - started
        time.sleep(0.1)
        [conn] = peer.connections
    assert result.status is None and result.timed_out
    assert result.error == "timeout: no complete answer within 1 s"
    assert 0.9 <= took < 1.6, took
    assert conn.closed is not None and conn.closed - conn.opened < 1.6  # the socket was closed


def test_a_silent_endpoint_times_out(client: CallbackClient) -> None:
    with SlowPeer("silent", limit=4.0) as peer:
        started = time.monotonic()
        result = send(client, peer.url, timeout=0.5)
    assert result.timed_out and result.status is None
    assert time.monotonic() - started < 1.2


def test_a_huge_answer_is_read_up_to_64_kib_only(client: CallbackClient) -> None:
    with SlowPeer("huge") as peer:
        started = time.monotonic()
        result = send(client, peer.url, timeout=5.0)
        took = time.monotonic() - started
        deadline = time.monotonic() + 3
        while peer.connections[0].closed is None and time.monotonic() < deadline:
            time.sleep(0.01)
        [conn] = peer.connections
    assert result.status == 200 and not result.timed_out
    assert took < 2.0
    # The client stopped reading: the peer could hand the kernel no more than the socket
    # buffers hold beyond the 64 KiB read, far less than the 64 MiB it offered.
    assert MAX_ANSWER_BYTES <= conn.sent < 24 * 1024 * 1024
    assert conn.closed is not None


def test_a_small_answer_is_drained_and_the_connection_kept_alive(client: CallbackClient) -> None:
    with SlowPeer("ok") as peer:
        assert [send(client, peer.url).status for _ in range(3)] == [200, 200, 200]
        assert [c.requests for c in peer.connections] == [3]


def test_credentials_proxies_and_ca_bundles_are_never_taken_from_the_environment(
    client: CallbackClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login stolen password hunter2-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "attacker-ca.pem"))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "attacker-ca.pem"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SlowPeer("ok") as proxy, CallbackServer(SECRET) as issuer:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                     "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        result = send(client, issuer.url)
        received = issuer.received
        assert proxy.connections == []
    assert result.status == 200
    [callback] = received
    assert callback.verified
    assert "authorization" not in {name.lower() for name in callback.headers}
    settings = make_session().merge_environment_settings(
        "https://issuer.example/", {}, None, None, None)
    assert settings["verify"] is True and settings["proxies"] == {}


def test_an_attempt_cut_off_shuts_its_socket_and_a_finished_one_is_left_alone() -> None:
    mine, peer = socket.socketpair()
    kept, kept_peer = socket.socketpair()
    with mine, peer, kept, kept_peer:
        late = Attempt(deadline=0.0)
        late.attach(SimpleNamespace(), mine)
        late.expire()
        peer.settimeout(1)
        assert peer.recv(1) == b""  # the shutdown reached the other end
        assert late.finish() is True

        done = Attempt(deadline=0.0)
        done.attach(SimpleNamespace(), kept)
        assert done.finish() is False
        done.expire()  # too late: the connection may already serve another attempt
        kept.sendall(b"x")
        kept_peer.settimeout(1)
        assert kept_peer.recv(1) == b"x"


def test_a_socket_attached_after_the_deadline_is_shut_at_once() -> None:
    mine, peer = socket.socketpair()
    with mine, peer:
        attempt = Attempt(deadline=0.0)
        attempt.expire()  # still resolving or connecting when the deadline passed
        attempt.attach(SimpleNamespace(), mine)
        peer.settimeout(1)
        assert peer.recv(1) == b""


# -- name resolution under the deadline (13.1) ------------------------------------------------

class SlowResolver:
    """The system resolver, as the transport sees it (``socket.getaddrinfo``): names ending in
    ``.slow.test`` take ``delay`` seconds and then resolve to loopback; ``localhost`` resolves
    as usual. Every name asked is recorded."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked: list[str] = []
        self.answered: list[str] = []
        self.release = threading.Event()  # ends a slow lookup at once
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(str(host))
        if str(host).endswith(".slow.test"):
            self.release.wait(self.delay)
            self.answered.append(str(host))
            host = "127.0.0.1"
        return self._real(host, port, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowResolver]:
    slow = SlowResolver(delay=30.0)
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    yield slow
    slow.release.set()


def test_a_slow_resolver_ends_the_attempt_at_its_deadline(
    client: CallbackClient, resolver: SlowResolver
) -> None:
    # The name takes 30 s to resolve; the attempt has 0.5 s. It must end while the lookup is
    # still under way (a lookup outside the deadline would hold the sender for all of it).
    with CallbackServer(SECRET) as issuer:
        port = issuer.url.rsplit(":", 1)[1]
        result = send(client, f"http://issuer.slow.test:{port}", timeout=0.5)
        still_resolving = resolver.answered == []
        resolver.release.set()
        received = issuer.received
    assert resolver.asked == ["issuer.slow.test"]
    assert still_resolving
    assert result.status is None and result.timed_out
    assert result.error == "timeout: no complete answer within 0.5 s"
    assert received == []


def test_a_connect_after_a_slow_lookup_gets_only_the_time_left(
    client: CallbackClient, resolver: SlowResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The socket is watched only once connected: a lookup that takes 0.3 s of a 2 s attempt
    # must leave the connect at most what remains, never the whole timeout again (a hanging
    # connect would otherwise hold the sender for up to twice the timeout).
    from urllib3.util import connection

    resolver.delay = 0.3
    connect_timeouts: list[float | None] = []
    real = connection.create_connection

    def create_connection(address: Any, timeout: Any = None, *args: Any, **kwargs: Any) -> Any:
        connect_timeouts.append(timeout)
        return real(address, timeout, *args, **kwargs)

    monkeypatch.setattr(connection, "create_connection", create_connection)
    with CallbackServer(SECRET) as issuer:
        port = issuer.url.rsplit(":", 1)[1]
        result = send(client, f"http://issuer.slow.test:{port}", timeout=2.0)
    assert (result.status, result.error) == (200, None)
    assert resolver.answered == ["issuer.slow.test"]
    assert len(connect_timeouts) == 1
    assert connect_timeouts[0] is not None and connect_timeouts[0] <= 2.0 - 0.3


def test_names_that_hang_hold_no_lookup_of_another_name(
    client: CallbackClient, resolver: SlowResolver
) -> None:
    # Five destinations whose names hang (more than any fixed pool of resolver threads): each
    # attempt times out, its lookup left running. A sixth destination that resolves at once
    # must not wait behind them: one broken destination costs its own callbacks only (13.1).
    with CallbackServer(SECRET) as issuer:
        port = issuer.url.rsplit(":", 1)[1]
        for n in range(5):
            assert send(client, f"http://issuer{n}.slow.test:{port}", timeout=0.2).timed_out
        healthy = send(client, f"http://localhost:{port}", timeout=5.0)
        # The same hanging name again: it waits for the lookup under way, not a new one.
        assert send(client, f"http://issuer0.slow.test:{port}", timeout=0.2).timed_out
        asked = list(resolver.asked)
        resolver.release.set()
    assert (healthy.status, healthy.error) == (200, None)
    assert asked.count("issuer0.slow.test") == 1


class TlsIssuer:
    """An HTTPS endpoint on loopback answering 200, with a certificate for ``localhost``;
    records the server name each handshake asked for (SNI) and each request's Host header."""

    def __init__(self, folder: Path) -> None:
        self.cert, key = tls_files(folder)
        self.server_names: list[str | None] = []
        self.hosts: list[str | None] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(key))
        context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.hosts.append(self.headers.get("Host"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TlsIssuer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_resolved_name_keeps_its_sni_certificate_check_and_host_header(
    resolver: SlowResolver, tmp_path: Path
) -> None:
    session = make_session()
    with TlsIssuer(tmp_path) as issuer, CallbackClient(session) as client:
        session.verify = str(issuer.cert)  # trust the test certificate, and only it
        result = send(client, f"https://localhost:{issuer.port}")
    assert result.status == 200, result.error
    assert "localhost" in resolver.asked  # resolved on the deadline's path
    assert issuer.server_names == ["localhost"]  # SNI: the name, not the address
    assert issuer.hosts == [f"localhost:{issuer.port}"]


def test_a_certificate_for_another_name_is_still_refused(
    resolver: SlowResolver, tmp_path: Path
) -> None:
    # issuer.slow.test resolves (slowly, within the deadline) to the loopback endpoint whose
    # certificate names localhost only: connecting by address must not skip the name check.
    resolver.delay = 0.1
    session = make_session()
    with TlsIssuer(tmp_path) as issuer, CallbackClient(session) as client:
        session.verify = str(issuer.cert)
        result = send(client, f"https://issuer.slow.test:{issuer.port}", timeout=5.0)
    assert result.status is None and not result.timed_out
    assert result.error is not None and "certificate" in result.error.lower()
    assert issuer.hosts == []
