"""The issuer's sender: signed orders and withdrawals to a hoster's webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from ..delivery.deadline import make_session
from ..protocol import signing
from ..protocol.keys import Ed25519PrivateKey
from ..timeutil import format_time
from .common import _secret_list, _signing_keys, new_message_id


class IssuerSender:
    """Posts signed envelopes to a hoster's ``/v1/webhooks/{issuer_id}`` (PROTOCOL 2).

    ``secret`` signs ``v1`` (HMAC), ``signing_keys`` sign ``v1a`` (Ed25519 ``whsk_...``); give
    either or both. With several of them, every message carries one token each (the newest, the
    last given, first), as a sender does while a rotation is under way.
    """

    def __init__(
        self,
        receiver_url: str,
        issuer_id: str,
        secret: str | Sequence[str] | None = None,
        *,
        signing_keys: str | Ed25519PrivateKey | Sequence[str | Ed25519PrivateKey] = (),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.url = f"{receiver_url.rstrip('/')}/v1/webhooks/{quote(issuer_id, safe='')}"
        self.issuer_id = issuer_id
        self.secrets = _secret_list(secret)
        self.signing_keys = _signing_keys(signing_keys)
        if not self.secrets and not self.signing_keys:
            raise ValueError("at least one secret or signing key is needed")
        self.clock = clock
        self.timeout = timeout
        self._own = session is None
        # Our own: nothing from the environment (proxies, CA bundles, .netrc), no TLS key log.
        self.session = session if session is not None else make_session()

    def envelope(self, event_type: str, data: dict[str, Any], *, timestamp: int) -> bytes:
        """The body bytes of ``{"type", "timestamp", "data"}``, its time RFC 3339 in UTC."""
        when = format_time(datetime.fromtimestamp(timestamp, UTC))
        return json.dumps({"type": event_type, "timestamp": when, "data": data}).encode("utf-8")

    def headers_for(
        self, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """Signature headers (newest secret's, then newest key's token first) and
        ``Content-Type`` for ``body``."""
        ts = int(self.clock()) if timestamp is None else timestamp
        signer = signing.Signer(secrets=tuple(self.secrets), keys=tuple(self.signing_keys))
        headers = signer.headers(msg_id or new_message_id(), body, timestamp=ts)
        headers["Content-Type"] = "application/json"
        return headers

    def send(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """Sign and post one event; the same ``msg_id`` again is a redelivery."""
        ts = int(self.clock()) if timestamp is None else timestamp
        body = self.envelope(event_type, data, timestamp=ts)
        return self.send_raw(body, self.headers_for(body, msg_id=msg_id, timestamp=ts))

    def send_order(
        self, data: dict[str, Any], *, msg_id: str | None = None, timestamp: int | None = None
    ) -> requests.Response:
        """Send an ``order.created`` event (an order or a notice, per ``data["kind"]``)."""
        return self.send("order.created", data, msg_id=msg_id, timestamp=timestamp)

    def withdraw(
        self,
        order_id: str,
        reason: str | None = None,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """Send an ``order.withdrawn`` event."""
        data: dict[str, Any] = {"order_id": order_id}
        if reason is not None:
            data["reason"] = reason
        return self.send("order.withdrawn", data, msg_id=msg_id, timestamp=timestamp)

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> requests.Response:
        """Post ``body`` with exactly ``headers`` (for tests of malformed requests)."""
        return self.session.post(
            self.url, data=body, headers=dict(headers), timeout=self.timeout,
            allow_redirects=False,
        )

    def close(self) -> None:
        """Close the session if this sender created it."""
        if self._own:
            self.session.close()

    def __enter__(self) -> IssuerSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
