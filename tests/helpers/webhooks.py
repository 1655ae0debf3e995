"""Signed requests of the test issuer: to the Flask test client (``post``) and straight to the
service (``receive``); orders prepared for the store without a request (``new_order``)."""

from __future__ import annotations

import json
from typing import Any

from hoster_compliance.issuer import IssuerSender
from hoster_compliance.orders import intake
from hoster_compliance.protocol import schemas_in as schemas
from hoster_compliance.service import ComplianceService
from tests.helpers import ISSUER_SECRET, FakeClock, order_data

URL = "/v1/webhooks/nl-atkm"


def signed(clock: FakeClock, doc: Any, *, secret: str = ISSUER_SECRET,
           msg_id: str = "msg_test", raw: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    body = raw if raw is not None else json.dumps(doc).encode()
    sender = IssuerSender("http://unused", "nl-atkm", secret, clock=clock.timestamp)
    headers = sender.headers_for(body, msg_id=msg_id)
    sender.close()
    return body, headers


def envelope(data: dict[str, Any], type_: str = "order.created") -> dict[str, Any]:
    return {"type": type_, "timestamp": "2026-11-22T08:59:00Z", "data": data}


def post(client: Any, clock: FakeClock, doc: Any, url: str = URL, **kwargs: Any) -> Any:
    body, headers = signed(clock, doc, **kwargs)
    return client.post(url, data=body, headers=headers)


def receive(service: ComplianceService, clock: FakeClock, sender_for: Any,
            issuer: str = "nl-atkm", **data: Any) -> dict[str, Any]:
    sender = sender_for("http://unused", issuer_id=issuer)
    body = sender.envelope("order.created", order_data(**data), timestamp=int(clock.timestamp()))
    result = service.receive(issuer, sender.headers_for(body), body)
    assert result.status == 201, result.body
    return result.body


def new_order(service: ComplianceService, clock: FakeClock, order_id: str,
              issuer: str = "nl-atkm", **overrides: Any) -> intake.NewOrder:
    data = order_data(order_id, **overrides)
    now = clock()
    loaded = schemas.load_order_created(data, now=now)
    issuer_config = service.config.issuer(issuer)
    assert issuer_config is not None
    return intake.prepare_order(service.config, issuer_config, data, loaded, now)
