"""Slow and stormy issuers against the real server (`hoster-compliance serve`, whose in-process
delivery worker has two threads), over loopback (PROTOCOL 13.1):

- one issuer's endpoint answers ``HTTP/1.1 200 OK`` and then a header byte every 2 s, for ever:
  every attempt to it ends at its deadline (``callback_timeout_seconds``), and another issuer's
  acknowledgements still arrive within 5 s of their orders' 2xx;
- an endpoint answering 503 with ``Retry-After: 0`` gets about one attempt per second per message,
  not a storm.

Each test takes about 10 s per database."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from hoster_compliance.issuer import CallbackServer, IssuerSender
from tests.helpers import ISSUER_SECRET, OLD_SECRET, TOKEN, order_data
from tests.helpers.processes import AUTH, Receiver, free_port
from tests.helpers.slow_peer import SlowPeer

pytestmark = pytest.mark.reliability

DEADLINE = 4  # callback_timeout_seconds


def two_issuer_config(path: Path, db_url: str, fast_url: str, slow_url: str) -> Path:
    path.write_text(
        f'hoster_id = "example-hosting"\n'
        f'database_url = "{db_url}"\n'
        f'operator_tokens = ["{TOKEN}"]\n'
        f"callback_timeout_seconds = {DEADLINE}\n\n"
        f'[[issuers]]\nid = "nl-atkm"\nmember_state = "NL"\nsecrets = ["{ISSUER_SECRET}"]\n'
        f'api_base = "{fast_url}"\ndefault_regime = "NL_ATKM"\n\n'
        f'[[issuers]]\nid = "slow"\nmember_state = "NL"\nsecrets = ["{OLD_SECRET}"]\n'
        f'api_base = "{slow_url}"\ndefault_regime = "NL_ATKM"\n'
    )
    return path


def test_a_trickling_issuer_delays_only_its_own_callbacks(rel_db: str, tmp_path: Path) -> None:
    with SlowPeer("headers", interval=2.0, limit=60.0) as slow, \
            CallbackServer(ISSUER_SECRET) as fast:
        config = two_issuer_config(tmp_path / "hc.toml", rel_db, fast.url, slow.url)
        with Receiver(config, free_port(), tmp_path / "receiver.log") as receiver, \
                IssuerSender(receiver.url, "slow", OLD_SECRET) as to_slow, \
                IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as to_fast:
            for n in range(6):  # enough to pin both delivery threads without fairness
                assert to_slow.send_order(order_data(f"slow-{n}")).status_code == 201
            time.sleep(0.5)  # the worker is sending to the slow issuer by now
            answered: dict[str, float] = {}
            for n in range(5):
                assert to_fast.send_order(order_data(f"fast-{n}")).status_code == 201
                answered[f"fast-{n}"] = time.monotonic()
            try:
                fast.wait_for(5, timeout=10)
            except TimeoutError:
                pytest.fail(f"the other issuer's acknowledgements are held: "
                            f"{len(fast.received)} of 5 after 10 s")
            acked = {c.payload["data"]["order_id"]: c.received_at for c in fast.received}
            # The slow issuer's first attempt, cut off at its deadline.
            end = time.monotonic() + DEADLINE + 5
            while (not slow.connections or slow.connections[0].closed is None) \
                    and time.monotonic() < end:
                time.sleep(0.05)
            # ... and recorded as a timeout (just after the peer saw the socket close).
            while True:
                pending = requests.get(receiver.url + "/v1/deliveries?state=pending",
                                       headers=AUTH, timeout=10).json()["deliveries"]
                if any(d["attempts"] for d in pending) or time.monotonic() > end:
                    break
                time.sleep(0.05)
    assert all(c.verified for c in fast.received)
    delays = {order_id: acked[order_id] - answered[order_id] for order_id in answered}
    assert max(delays.values()) < 5.0, delays
    first = slow.connections[0]
    assert first.closed is not None, "the slow issuer's attempt never ended"
    assert DEADLINE - 0.5 <= first.closed - first.opened <= DEADLINE + 1.5
    timed_out = [d for d in pending if d["attempts"] >= 1]
    assert timed_out and all(
        d["last_error"] == f"timeout: no complete answer within {DEADLINE} s" for d in timed_out)
    assert {d["issuer_id"] for d in pending} == {"slow"}


def test_retry_after_zero_is_not_a_storm(rel_db: str, tmp_path: Path) -> None:
    seconds = 5.0
    with CallbackServer(ISSUER_SECRET, responses=[(503, "0")] * 10_000) as issuer:
        config = two_issuer_config(tmp_path / "hc.toml", rel_db, issuer.url, issuer.url)
        with Receiver(config, free_port(), tmp_path / "receiver.log") as receiver, \
                IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
            for n in range(2):
                assert sender.send_order(order_data(f"storm-{n}")).status_code == 201
            time.sleep(seconds)
            received = issuer.received
    by_message: dict[str | None, list[float]] = defaultdict(list)
    for callback in received:
        by_message[callback.webhook_id].append(callback.received_at)
    assert len(by_message) == 2
    for times in by_message.values():
        # About one per second, the first at once: at most 6 in 5 s (5,000 before the floor).
        assert 3 <= len(times) <= seconds + 1, len(times)
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.95, gaps
