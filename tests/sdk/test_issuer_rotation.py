"""The issuer's CallbackServer after the hoster rotates its Ed25519 keys: a v1a callback that the
keys at hand do not verify makes it fetch the hoster's published list again (at most once per
``refetch_interval`` of its clock) and verify once more, then refuse. The hoster's list is served
by a real HTTP server on loopback; the callbacks are signed and sent by the hoster's own client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hoster_compliance.delivery.client import CallbackClient
from hoster_compliance.errors import KeysUnavailable
from hoster_compliance.issuer import KEYS_PATH, CallbackServer, fetch_public_keys, new_message_id
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing

START = 1_790_000_000.0
OLD_KEY, NEW_KEY, NEWER_KEY, FORGER_KEY = (ed25519.generate_key_pair()[0] for _ in range(4))
SECRET = signing.new_secret()


def public(signing_key: str) -> str:
    return ed25519.public_key_text(ed25519.parse_signing_key(signing_key))


class KeyList:
    """The hoster's ``/.well-known/hoster-compliance/keys`` on loopback: what it publishes can
    change (a rotation), it can fail (``status``), and it counts the GETs it answered."""

    def __init__(self, *signing_keys: str) -> None:
        self.signing_keys = list(signing_keys)
        self.status = 200
        self.truncate = False  # promise the whole list, send a few bytes of it, hang up
        self.gets = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.gets += 1
                keys = [ed25519.key_entry(ed25519.parse_signing_key(k))
                        for k in owner.signing_keys]
                status = owner.status if self.path == KEYS_PATH else 404
                data = json.dumps({"keys": keys} if status == 200 else {"error": "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:10] if owner.truncate else data)
                if owner.truncate:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hoster() -> Iterator[KeyList]:
    keys = KeyList(OLD_KEY)
    yield keys
    keys.close()


@pytest.fixture
def http() -> Iterator[CallbackClient]:
    with CallbackClient() as client:
        yield client


def send(http: CallbackClient, server: CallbackServer, clock: Clock, *keys: str,
         secret: str | None = None) -> int | None:
    """One acknowledgement signed by the hoster with ``keys`` (and ``secret``); the status."""
    signer = signing.Signer(secrets=(secret,) if secret else (),
                            keys=tuple(ed25519.parse_signing_key(k) for k in keys))
    result = http.send(f"{server.url}/v1/orders/ord-1/acknowledgement",
                       webhook_id=new_message_id(), body=b'{"type": "order.acknowledged"}',
                       signer=signer, timeout=10.0, now=clock)
    assert result.error is None, result.error
    return result.status


def issuer(hoster: KeyList, clock: Clock, **kwargs: Any) -> CallbackServer:
    kwargs.setdefault("public_keys", [public(OLD_KEY)])
    return CallbackServer(hoster_url=hoster.url, refetch_interval=60.0, clock=clock, **kwargs)


def test_a_callback_signed_with_a_rotated_in_key_is_verified_after_one_refetch(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    with issuer(hoster, clock) as server:
        assert send(http, server, clock, OLD_KEY) == 200
        assert hoster.gets == 0  # the keys at hand verified it: nothing fetched
        hoster.signing_keys = [OLD_KEY, NEW_KEY]  # the hoster rotates
        assert send(http, server, clock, NEW_KEY) == 200
        assert hoster.gets == 1 and server.key_fetches == 1
        assert [ed25519.public_key_text(k) for k in server.public_keys] == [
            public(OLD_KEY), public(NEW_KEY)]
        assert send(http, server, clock, NEW_KEY) == 200  # the new key is kept
        assert hoster.gets == 1
    assert [c.verified for c in server.received] == [True, True, True]


def test_refetches_are_rate_limited_by_the_injected_clock(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    with issuer(hoster, clock) as server:
        assert send(http, server, clock, FORGER_KEY) == 401  # a key the hoster never published
        assert hoster.gets == 1
        hoster.signing_keys = [OLD_KEY, NEW_KEY]
        clock.now += 59.0
        assert send(http, server, clock, NEW_KEY) == 401  # within the interval: no fetch
        assert send(http, server, clock, FORGER_KEY) == 401
        assert hoster.gets == 1
        clock.now += 1.0
        assert send(http, server, clock, NEW_KEY) == 200  # 60 s after the last fetch
        assert hoster.gets == 2
        assert send(http, server, clock, FORGER_KEY) == 401
        assert hoster.gets == 2
    assert [c.error for c in server.received] == [
        "invalid_signature", "invalid_signature", "invalid_signature", None, "invalid_signature"]


def test_the_published_list_replaces_the_keys_so_a_removed_key_stops_verifying(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    hoster.signing_keys = [NEW_KEY, NEWER_KEY]  # the hoster finished a rotation: OLD is gone
    with issuer(hoster, clock) as server:
        assert send(http, server, clock, NEWER_KEY) == 200
        clock.now += 60.0
        assert send(http, server, clock, OLD_KEY) == 401
        assert hoster.gets == 2


def test_a_failed_fetch_keeps_the_keys_and_refuses(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    hoster.signing_keys = [OLD_KEY, NEW_KEY]
    hoster.status = 503
    with issuer(hoster, clock) as server:
        assert send(http, server, clock, NEW_KEY) == 401
        assert hoster.gets == 1
        assert send(http, server, clock, OLD_KEY) == 200  # the old key still verifies
        hoster.status = 200
        clock.now += 60.0
        assert send(http, server, clock, NEW_KEY) == 200
        assert hoster.gets == 2


def test_an_unreachable_hoster_keeps_the_keys_and_refuses(clock: Clock,
                                                          http: CallbackClient) -> None:
    gone = KeyList(OLD_KEY, NEW_KEY)
    gone.close()
    with issuer(gone, clock, fetch_timeout=2.0) as server:
        assert send(http, server, clock, NEW_KEY) == 401
        assert server.key_fetches == 1
        assert send(http, server, clock, OLD_KEY) == 200


def test_a_truncated_key_list_keeps_the_keys_and_refuses(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    hoster.signing_keys = [OLD_KEY, NEW_KEY]
    hoster.truncate = True
    with pytest.raises(KeysUnavailable):
        fetch_public_keys(hoster.url, timeout=5.0)
    with issuer(hoster, clock) as server:
        assert send(http, server, clock, NEW_KEY) == 401  # answered, not a dropped connection
        assert server.key_fetches == 1
        assert send(http, server, clock, OLD_KEY) == 200


def test_without_keys_the_first_v1a_callback_fetches_them(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    with issuer(hoster, clock, public_keys=()) as server:
        assert send(http, server, clock, OLD_KEY) == 200
        assert hoster.gets == 1


def test_only_a_v1a_signature_that_fails_triggers_a_fetch(
    hoster: KeyList, clock: Clock, http: CallbackClient
) -> None:
    with issuer(hoster, clock, secrets=SECRET) as server:
        assert send(http, server, clock, secret=signing.new_secret()) == 401  # v1 only
        stale = Clock()
        stale.now = START - 3600.0
        assert send(http, server, stale, FORGER_KEY) == 401  # stale: no key would help
        assert hoster.gets == 0
        assert [c.error for c in server.received] == [
            "invalid_signature", "timestamp_out_of_tolerance"]


def test_without_hoster_url_nothing_is_fetched(hoster: KeyList, clock: Clock,
                                                http: CallbackClient) -> None:
    hoster.signing_keys = [OLD_KEY, NEW_KEY]
    with CallbackServer(public_keys=[public(OLD_KEY)], clock=clock) as server:
        assert send(http, server, clock, NEW_KEY) == 401
    assert hoster.gets == 0
    with pytest.raises(ValueError, match="hoster_url"):
        CallbackServer(clock=clock)
