"""examples/auto_takedown.py end to end: an order arrives over HTTP, the handler quarantines the
file, and the issuer receives a verified outcome seconds later."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hoster_compliance.automation import AutomationContext, AutomationRunner
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import events
from hoster_compliance_receiver import create_app
from tests.helpers import ISSUER_SECRET, FakeClock, LiveServer, make_config, order_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "https://files.example-hosting.nl/"


def load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auto_takedown_quarantines_and_the_issuer_gets_the_outcome(
    db_url: str, tmp_path: Path
) -> None:
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    (web_root / "u" / "1").mkdir(parents=True)
    (web_root / "u" / "1" / "a.jpg").write_bytes(b"bad content")
    handler = example.make_handler(PREFIX, web_root, quarantine)
    with CallbackServer(ISSUER_SECRET) as issuer:
        app = create_app(make_config(db_url, api_base=issuer.url), start_worker=True,
                         automations=[handler])
        try:
            with LiveServer(app) as receiver, \
                    IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
                data = order_data(issued_at="2026-01-01T00:00:00Z", preserve_for_days=180)
                data["items"].append({"item_id": "elsewhere", "url": "https://other.example/x"})
                data["items"].append({"item_id": "escape", "url": PREFIX + "..%2F..%2Fetc"})
                assert sender.send_order(data).status_code == 201
                # a person handles the two items the script leaves alone
                service = app.extensions["hoster_compliance"]
                got = issuer.wait_for(1, timeout=10)
                assert got[0].path.endswith("/acknowledgement")
                _wait_for_automation(service)
                service.act("nl-atkm", "ord-1", None, {"action": "not_hosted"},
                            actor="operator:test")
                got = issuer.wait_for(
                    lambda r: any(c.path.endswith("/outcome") for c in r), timeout=10)
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            app.extensions["hoster_compliance"].engine.dispose()
    outcome = [c for c in got if c.path.endswith("/outcome")][0]
    assert outcome.verified
    actions = {i["item_id"]: i["action"] for i in outcome.payload["data"]["items"]}
    assert actions == {"i1": "removed", "i2": "not_found", "elsewhere": "not_hosted",
                       "escape": "not_hosted"}
    moved = quarantine / "nl-atkm" / "ord-1" / "i1" / "a.jpg"
    assert moved.read_bytes() == b"bad content"
    assert not (web_root / "u" / "1" / "a.jpg").exists()
    record = json.loads((moved.parent / "record.json").read_text())
    assert record["preserve_until"] is not None
    # nothing is purged before the preservation period ends
    assert example.purge(quarantine, datetime.now(UTC)) == []
    assert example.purge(quarantine, datetime(2100, 1, 1, tzinfo=UTC)) == [moved.parent]


def _wait_for_automation(service: ComplianceService) -> None:
    import time

    from hoster_compliance.store.tables import orders

    for _ in range(200):
        with service.engine.connect() as conn:
            if conn.execute(sa.select(orders.c.automation_state)).scalar() == "done":
                return
        time.sleep(0.05)
    raise AssertionError("automation did not run")


def test_failing_handler_is_logged_and_never_loses_the_order(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    calls: list[str] = []

    def broken(ctx: AutomationContext) -> None:
        calls.append(ctx.order["order_id"])
        raise RuntimeError("disk full")

    def works(ctx: AutomationContext) -> None:
        calls.append("works")
        ctx.act("i1", "removed")

    sender = sender_for("http://unused")
    body = sender.envelope("order.created", order_data(), timestamp=int(clock.timestamp()))
    assert service.receive("nl-atkm", sender.headers_for(body), body).status == 201
    runner = AutomationRunner(service, [broken, works])
    assert runner.run_once() == 1
    assert runner.run_once() == 0  # once per order
    assert calls == ["ord-1", "works"]
    with service.engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.type, events.c.actor, events.c.detail)
                            .order_by(events.c.id)).all()
    assert [r.type for r in rows] == ["received", "action", "automation_failed"]
    assert rows[1].actor == "automation:works"
    assert json.loads(rows[2].detail)["error"] == "RuntimeError: disk full"
    from hoster_compliance.orders import reads as queries

    detail = queries.get_order(service.engine, "nl-atkm", "ord-1", clock())
    assert detail["status"] == "open" and detail["items"][0]["automated"] is True


def test_act_on_orders_walks_open_items(
    service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    example = load("act_on_orders")
    sender = sender_for("http://unused")
    body = sender.envelope("order.created", order_data(), timestamp=int(clock.timestamp()))
    service.receive("nl-atkm", sender.headers_for(body), body)
    clock.advance(minutes=1)
    answers = iter(["r", "x", "court case pending"])
    said: list[str] = []
    # the example acts at the real time, which is after the fake receipt
    count = example.walk(service, lambda _prompt: next(answers), said.append, "tester")
    assert count == 2
    from hoster_compliance.orders import reads as queries

    detail = queries.get_order(service.engine, "nl-atkm", "ord-1", clock())
    assert [(i["action"], i["reason"]) for i in detail["items"]] == [
        ("removed", None), ("refused", "court case pending")]
    assert detail["status"] == "completed"


def test_auto_takedown_quarantines_an_own_initiative_entry_as_disabled(
    db_url: str, tmp_path: Path
) -> None:
    from hoster_compliance.automation import AutomationRunner
    from hoster_compliance.config_hashcheck import HashcheckConfig
    from hoster_compliance.orders.own_initiative import Finding

    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    web_root.mkdir()
    (web_root / "match.jpg").write_bytes(b"known")
    service = ComplianceService(
        make_config(db_url, hashcheck=HashcheckConfig(lists=("known.txt",))))
    try:
        entry = service.record_own_initiative(
            [Finding(PREFIX + "match.jpg", "sha1", "a" * 40, "hash list known.txt")])
        runner = AutomationRunner(service, [example.make_handler(PREFIX, web_root, quarantine)])
        assert runner.run_once() == 1
        detail = service.get_order("self", entry["order_id"])
        assert [(i["action"], i["automated"]) for i in detail["items"]] == [("disabled", True)]
        assert detail["deliveries"] == []
        moved = quarantine / "self" / entry["order_id"] / "1" / "match.jpg"
        assert moved.read_bytes() == b"known"  # quarantined, not deleted
        assert not (web_root / "match.jpg").exists()
    finally:
        service.engine.dispose()
