"""PROTOCOL 13.1, slow clients: `hoster-compliance serve` alone (no proxy in front) keeps
answering signed orders within 1 s while 200 connections send their headers a byte at a time,
stall their body, or send nothing; and it drops each of them about 10 s after it began."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from hoster_compliance.issuer import IssuerSender
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
