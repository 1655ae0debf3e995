"""Outbound HTTPS never writes a TLS key log (PROTOCOL 13.1): with ``SSLKEYLOGFILE`` set, the
callback client (and so the alert channels), the HashCheckService client, the issuer's sender and
the issuer's key fetch leave the file absent, against a real HTTPS server on loopback whose
self-signed certificate the client trusts through its session's ``verify``. A plain requests
session does write the file, so the check can fail; and certificates are still verified: an
unknown CA is refused."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from hoster_compliance import errors
from hoster_compliance.alerts.channels import AlertSender
from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.delivery.client import CallbackClient
from hoster_compliance.detection.client import HashCheckClient
from hoster_compliance.issuer import IssuerSender, fetch_public_keys
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing
from tests.helpers import make_config
from tests.helpers.smtp import tls_files

SECRET = signing.new_secret()
HOSTER_KEY = ed25519.generate_key_pair()[0]
ALERT_FACTS = {"event": "received", "at": "2026-11-22T09:00:00Z", "issuer_id": "nl-atkm",
               "issuer_name": "ATKM", "order_id": "2026:0001/a", "kind": "order",
               "regime": "NL_ATKM", "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
               "received_at": "2026-11-22T09:00:00Z", "deadline": "2026-11-22T21:00:00Z",
               "items_total": 2, "items_resolved": 1}


class HttpsPeer:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate: answers a POST with 200 and
    ``false`` (a HashCheckService's "not known", ignored by the others) and ``GET`` of the key
    list with one key. Its own context never logs keys, whatever the environment says."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, data: bytes) -> None:
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(b"false")

            def do_GET(self) -> None:  # noqa: N802
                key = ed25519.parse_signing_key(HOSTER_KEY)
                self._answer(json.dumps({"keys": [ed25519.key_entry(key)]}).encode())

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # reads nothing from the environment
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "tls"
    folder.mkdir()
    return tls_files(folder)


@pytest.fixture
def peer(ca: tuple[Path, Path]) -> Iterator[HttpsPeer]:
    server = HttpsPeer(*ca)
    yield server
    server.close()


@pytest.fixture
def keylog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``SSLKEYLOGFILE`` set for the test (after the server made its context)."""
    path = tmp_path / "tls-keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    return path


def assert_no_key_log(path: Path) -> None:
    assert not path.exists() or path.read_bytes() == b"", path.read_text()[:200]


def test_a_plain_requests_session_would_write_the_key_log(
    peer: HttpsPeer, ca: tuple[Path, Path], keylog: Path
) -> None:
    """The control: the environment, the server and the check are live."""
    with requests.Session() as session:
        assert session.post(peer.url + "/x", data=b"{}", verify=str(ca[0]),
                            timeout=10).status_code == 200
    assert b"CLIENT_TRAFFIC_SECRET_0 " in keylog.read_bytes()


def test_callbacks_write_no_key_log(peer: HttpsPeer, ca: tuple[Path, Path],
                                    keylog: Path) -> None:
    with CallbackClient() as client:
        client.session.verify = str(ca[0])
        signer = signing.Signer(secrets=(SECRET,), keys=(ed25519.parse_signing_key(HOSTER_KEY),))
        for attempt in range(2):  # a new connection, then the kept-alive one
            result = client.send(f"{peer.url}/v1/orders/ord-1/acknowledgement",
                                 webhook_id=f"msg_{attempt}", body=b"{}", signer=signer,
                                 timeout=10.0)
            assert (result.status, result.error) == (200, None)
    assert peer.requests == 2
    assert_no_key_log(keylog)


def test_alert_webhooks_and_pagerduty_write_no_key_log(
    peer: HttpsPeer, ca: tuple[Path, Path], keylog: Path
) -> None:
    sender = AlertSender(make_config("sqlite://", callback_timeout_seconds=10))
    try:
        sender.http.session.verify = str(ca[0])
        for channel in (AlertChannel(name="chat", channel="webhook", url=peer.url + "/hook"),
                        AlertChannel(name="pager", channel="pagerduty", url=peer.url + "/v2",
                                     routing_key="R0UTINGKEY0123456789abcdefghijkl")):
            sent = sender.send(channel, ALERT_FACTS, message_id="m1")
            assert (sent.result.status, sent.result.error) == (200, None)
    finally:
        sender.close()
    assert peer.requests == 2
    assert_no_key_log(keylog)


def test_hash_checks_write_no_key_log(peer: HttpsPeer, ca: tuple[Path, Path],
                                      keylog: Path) -> None:
    client = HashCheckClient(peer.url, username="scanner", password="pw", attempts=1)
    try:
        client.session.verify = str(ca[0])
        assert client.is_known("md5", "0" * 32) is False
    finally:
        client.close()
    assert_no_key_log(keylog)


def test_the_issuer_sender_and_key_fetch_write_no_key_log(
    peer: HttpsPeer, ca: tuple[Path, Path], keylog: Path
) -> None:
    with IssuerSender(peer.url, "eu-tco", SECRET) as sender:
        sender.session.verify = str(ca[0])
        assert sender.send_order({"order_id": "ord-1"}).status_code == 200
    assert_no_key_log(keylog)
    # Without a session of its own the key fetch trusts certifi's bundle only: refused, and
    # still no key log of the handshake it began.
    with pytest.raises(errors.KeysUnavailable, match="SSLError"):
        fetch_public_keys(peer.url)
    assert_no_key_log(keylog)
    assert peer.requests == 1


def test_an_unknown_ca_is_refused(peer: HttpsPeer, tmp_path: Path, keylog: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _ = tls_files(other)
    signer = signing.Signer(secrets=(SECRET,))
    with CallbackClient() as client:
        default = client.send(peer.url + "/cb", webhook_id="msg_1", body=b"{}", signer=signer,
                              timeout=10.0)  # certifi's bundle
        client.session.verify = str(other_ca)
        wrong = client.send(peer.url + "/cb", webhook_id="msg_2", body=b"{}", signer=signer,
                            timeout=10.0)
    for result in (default, wrong):
        assert result.status is None
        assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error
    client = HashCheckClient(peer.url, attempts=1)
    try:
        client.session.verify = str(other_ca)
        with pytest.raises(Exception, match="SSLError"):
            client.is_known("md5", "0" * 32)
    finally:
        client.close()
    assert peer.requests == 0
    assert_no_key_log(keylog)


@pytest.mark.parametrize("cert_reqs", ["CERT_REQUIRED", "CERT_NONE"])
def test_the_context_is_the_one_urllib3_would_make_but_for_the_key_log(
    cert_reqs: str, ca: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our TLS context keeps urllib3's settings (so a urllib3 upgrade that changes them shows
    here), and reads no SSLKEYLOGFILE where urllib3's does."""
    from urllib3.util.ssl_ import create_urllib3_context, resolve_cert_reqs

    from hoster_compliance.delivery import deadline

    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    conn = deadline._WatchedHTTPSConnection("127.0.0.1", 443, cert_reqs=cert_reqs,
                                            ca_certs=str(ca[0]))
    ours = deadline._tls_context(conn)
    theirs = create_urllib3_context(cert_reqs=resolve_cert_reqs(cert_reqs))
    for name in ("minimum_version", "maximum_version", "options", "verify_mode", "verify_flags",
                 "check_hostname", "hostname_checks_common_name", "post_handshake_auth",
                 "protocol"):
        assert getattr(ours, name) == getattr(theirs, name), name
    monkeypatch.setenv("SSLKEYLOGFILE", str(ca[0].parent / "keys.log"))
    assert create_urllib3_context().keylog_filename is not None  # what we avoid
    assert deadline._tls_context(conn).keylog_filename is None


def test_a_context_handed_to_the_pool_is_not_used_either(
    peer: HttpsPeer, ca: tuple[Path, Path], keylog: Path
) -> None:
    """requests 2.32.0 to 2.32.4 (within our ``requests>=2.31``) hand every pool of a
    ``verify=True`` request one shared context, made at import by urllib3's
    ``create_urllib3_context``: with ``SSLKEYLOGFILE`` set when the process started, it logs
    every session's keys. Such a context, in the pool's settings as those versions put it, must
    be replaced by ours, and the certificate still checked (against the session's ``verify``)."""
    from urllib3.util.ssl_ import create_urllib3_context

    from hoster_compliance.delivery.deadline import make_session

    shared = create_urllib3_context()  # what requests 2.32.x preloads; reads SSLKEYLOGFILE
    assert shared.keylog_filename is not None
    shared.check_hostname, shared.verify_mode = False, ssl.CERT_NONE  # would verify nothing
    with make_session() as session:
        session.get_adapter("https://").poolmanager.connection_pool_kw["ssl_context"] = shared
        answer = session.post(peer.url + "/x", data=b"{}", verify=str(ca[0]), timeout=10)
        assert answer.status_code == 200
    assert_no_secrets_logged(keylog)
    with make_session() as session:
        session.get_adapter("https://").poolmanager.connection_pool_kw["ssl_context"] = shared
        with pytest.raises(requests.exceptions.SSLError):  # the peer's CA is not certifi's
            session.post(peer.url + "/x", data=b"{}", timeout=10)
    assert_no_secrets_logged(keylog)


def assert_no_secrets_logged(path: Path) -> None:
    """No session's secret in the file (making the context wrote its header line)."""
    logged = path.read_bytes()
    assert b"SECRET" not in logged and b"CLIENT_RANDOM" not in logged, logged[:300]
