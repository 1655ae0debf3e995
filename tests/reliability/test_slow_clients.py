"""PROTOCOL 13.1, slow clients: `hoster-compliance serve` alone (no proxy in front) keeps
answering signed orders within 1 s while 200 connections send their headers a byte at a time,
stall their body, or send nothing; and it drops each of them about 10 s after it began. Also
what the front answers by itself, and its graceful stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from hoster_compliance.issuer import IssuerSender
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import deliveries
from tests.helpers import ISSUER_SECRET, order_data
from tests.helpers.processes import Receiver, free_port, write_config
from tests.helpers.slow_clients import SlowClients

pytestmark = pytest.mark.reliability

SLOW = 200
WATCH_SECONDS = 14.0  # past the 10 s limits, with room for the server's once-a-second sweep


def test_slow_and_silent_connections_neither_deny_service_nor_stay(tmp_path: Path) -> None:
    config = write_config(tmp_path / "hc.toml", f"sqlite:///{tmp_path / 'hc.db'}",
                          "http://127.0.0.1:9/issuer")
    port = free_port()
    latencies: list[float] = []
    with Receiver(config, port, tmp_path / "serve.log", threads=4) as receiver, \
            SlowClients("127.0.0.1", port, count=SLOW, interval=0.5,
                        stall_body_after=5) as slow:
        first_wave = list(slow.conns)
        assert len(first_wave) == SLOW, f"only {len(first_wave)} slow connections opened"
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < WATCH_SECONDS:
            n += 1
            # a new connection per order, as an issuer's retry would open
            with IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET, timeout=5) as sender:
                t0 = time.monotonic()
                try:
                    response = sender.send_order(order_data(f"during-{n}"))
                except requests.RequestException as exc:
                    pytest.fail(f"order {n} not answered while {slow.open_count()} slow "
                                f"connections were open: {exc!r}\n{receiver.log_tail()}")
                latencies.append(time.monotonic() - t0)
            assert response.status_code == 201, response.text
            assert slow.open_count() >= SLOW * 0.9  # the pressure stays on (reconnects)
            time.sleep(0.25)
        # every first-wave connection was dropped by the server
        still_open = [conn.kind for conn in first_wave if conn.closed is None]
        assert not still_open, f"{len(still_open)} slow connections still open: {still_open[:5]}"
        # headers: 10 s from their first byte; a stalled body or a silent connection: 10 s
        # without a byte; the server looks once a second
        waited = {
            "headers": [conn.since_first_byte() for conn in first_wave if conn.kind == "headers"],
            "body": [conn.quiet_for() for conn in first_wave if conn.kind == "body"],
            "silent": [conn.quiet_for() for conn in first_wave if conn.kind == "silent"],
        }
        for kind, durations in waited.items():
            assert 9.5 <= min(durations) and max(durations) <= 12.5, (
                kind, min(durations), max(durations))
        # the header tricklers were not idle: they sent a byte every 0.5 s until dropped
        assert min(conn.sent for conn in first_wave if conn.kind == "headers") >= 15
    assert len(latencies) >= 10
    assert max(latencies) < 1.0, sorted(latencies)[-5:]


def _raw_answer(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_the_fronts_own_answers_are_protocol_json(tmp_path: Path) -> None:
    """What the front refuses before the application sees it still gets 2.3's body."""
    config = write_config(tmp_path / "hc.toml", f"sqlite:///{tmp_path / 'hc.db'}",
                          "http://127.0.0.1:9/issuer")
    port = free_port()
    with Receiver(config, port, tmp_path / "serve.log", threads=2):
        status, body = _raw_answer(port, (
            b"POST /v1/webhooks/nl-atkm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"))
        assert (status, body["error"]) == (413, "payload_too_large")
        status, body = _raw_answer(port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert (status, body["error"]) == (400, "bad_request")


class _SlowIssuer(BaseHTTPRequestHandler):
    """Answers 200 to every callback, 2 s after it arrived."""

    arrived = threading.Event()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).arrived.set()
        time.sleep(2)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_sigterm_lets_the_callback_in_flight_finish_and_be_recorded(tmp_path: Path) -> None:
    issuer = ThreadingHTTPServer(("127.0.0.1", 0), _SlowIssuer)
    threading.Thread(target=issuer.serve_forever, daemon=True).start()
    db_url = f"sqlite:///{tmp_path / 'hc.db'}"
    config = write_config(tmp_path / "hc.toml", db_url,
                          f"http://127.0.0.1:{issuer.server_address[1]}/issuer")
    try:
        receiver = Receiver(config, free_port(), tmp_path / "serve.log", threads=2).start()
        with IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET, timeout=10) as sender:
            assert sender.send_order(order_data("graceful-1")).status_code == 201
        assert _SlowIssuer.arrived.wait(15), receiver.log_tail()
        assert receiver.proc is not None
        os.killpg(receiver.proc.pid, signal.SIGTERM)  # while the issuer is still answering
        receiver.proc.wait(20)
    finally:
        receiver.stop()
        issuer.shutdown()
        issuer.server_close()
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(deliveries)).one()
    finally:
        engine.dispose()
    assert (row.state, row.last_status, row.lease_owner) == ("delivered", 200, None), row
