"""The audit witness end to end (PROTOCOL 3): over real HTTP on loopback, the issuer's
CallbackServer receives signed callbacks whose ``data.audit`` names an event of the hoster's
trail by its sequence number and hash; kept by the issuer, they later prove the trail was not
rewritten up to them (``audit verify --expect``)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.store.audit import AuditHead
from hoster_compliance.store.tables import events, orders
from hoster_compliance_receiver import create_app
from tests.helpers import AUTH, ISSUER_SECRET, LiveServer, make_config, order_data
from tests.helpers.audit import rewrite


def test_the_issuer_receives_witnesses_that_match_the_trail(db_url: str) -> None:
    with CallbackServer(ISSUER_SECRET) as issuer:
        app = create_app(make_config(db_url, api_base=issuer.url), start_worker=True)
        service = app.extensions["hoster_compliance"]
        try:
            with LiveServer(app) as receiver, \
                    IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
                data = order_data(issued_at="2026-01-01T00:00:00Z")
                assert sender.send_order(data).status_code == 201
                issuer.wait_for(1, timeout=10)
                client = app.test_client()
                answer = client.post("/v1/orders/nl-atkm/ord-1/action",
                                     json={"action": "removed"}, headers=AUTH)
                assert answer.status_code == 200, answer.json
                got = issuer.wait_for(
                    lambda r: any(c.path.endswith("/outcome") for c in r), timeout=10)
            with service.engine.connect() as conn:
                trail = {row.id: row for row in conn.execute(sa.select(events))}
                order_pk = conn.execute(sa.select(orders.c.id)).scalar_one()
            witnesses = {c.path.rsplit("/", 1)[1]: c for c in got}
            assert set(witnesses) == {"acknowledgement", "outcome"}
            kept = []
            for what, expected_type in (("acknowledgement", "received"),
                                        ("outcome", "completed")):
                callback = witnesses[what]
                assert callback.verified  # the witness is inside the signed body
                witness: dict[str, Any] = callback.payload["data"]["audit"]
                event = trail[witness["seq"]]
                assert (event.hash, event.type, event.order_pk) == (
                    witness["hash"], expected_type, order_pk)
                kept.append(AuditHead(witness["seq"], witness["hash"]))
            assert kept[0].seq < kept[1].seq
            assert service.verify_audit(kept).intact
            # a hoster that rewrote the receipt and recomputed the whole chain afterwards
            # contradicts the issuer's copies (and nothing else)
            received = trail[kept[0].seq]
            rewrite(service.engine, received.id, {**json.loads(received.detail), "forged": 1})
            report = service.verify_audit(kept)
            assert report.chain == [] and report.state == []
            assert [p.head for p in report.expected] == kept
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            service.engine.dispose()
