"""End to end over real HTTP on loopback: issuer -> receiver -> store -> worker -> issuer."""

from __future__ import annotations

import threading
from typing import Any

from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance_receiver import create_app
from tests.helpers import ISSUER_SECRET, LiveServer, make_config, order_data


def test_order_is_acknowledged_to_the_issuer_within_a_second(db_url: str) -> None:
    with CallbackServer(ISSUER_SECRET) as issuer:
        config = make_config(db_url, api_base=issuer.url)
        app = create_app(config, start_worker=True)  # real clock, in-process worker
        try:
            with LiveServer(app) as receiver, \
                    IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
                response = sender.send_order(order_data(issued_at="2026-01-01T00:00:00Z"))
                assert response.status_code == 201, response.text
                got = issuer.wait_for(1, timeout=5.0)
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            app.extensions["hoster_compliance"].engine.dispose()
    callback = got[0]
    assert callback.verified
    assert callback.path == "/v1/orders/ord-1/acknowledgement"
    assert callback.payload["type"] == "order.acknowledged"
    data = dict(callback.payload["data"])
    assert set(data.pop("audit")) == {"seq", "hash"}  # tests/e2e/test_audit_witness.py
    assert data == {
        "order_id": "ord-1", "hoster_id": "example-hosting",
        "received_at": response.json()["received_at"],
    }


def test_acknowledgement_wakes_worker_without_polling_delay(
    service: ComplianceService, fake_issuer: CallbackServer, clock: Any, sender_for: Any
) -> None:
    """The in-process worker is woken by the commit: with a 60 s idle poll it still sends at
    once, so the acknowledgement cannot be waiting for a poll."""
    from hoster_compliance.delivery.outbox import DeliveryWorker

    wake, stop = threading.Event(), threading.Event()
    service.notify = wake.set
    worker = DeliveryWorker(service.config, service.engine, clock=clock)
    thread = threading.Thread(target=worker.run, args=(stop, wake),
                              kwargs={"max_idle_seconds": 60.0})
    thread.start()
    try:
        app = create_app(service.config, service=service)
        with LiveServer(app) as receiver:
            sender = sender_for(receiver.url)
            assert sender.send_order(order_data()).status_code == 201
            got = fake_issuer.wait_for(1, timeout=10.0)
    finally:
        stop.set()
        wake.set()
        thread.join(5)
    assert got and got[0].verified
