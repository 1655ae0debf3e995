"""examples/auto_takedown.py end to end: an order arrives over HTTP, the handler quarantines the
file, and the issuer receives a verified outcome seconds later."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
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
    folder = example.quarantine_folder(quarantine, "nl-atkm", "ord-1", "i1")
    assert (folder / "content").read_bytes() == b"bad content"
    assert not (web_root / "u" / "1" / "a.jpg").exists()
    record = json.loads((folder / "record.json").read_text())
    assert record["preserve_until"] is not None and record["state"] == "removed"
    assert (record["order_id"], record["item_id"], record["file"]) == ("ord-1", "i1", "a.jpg")
    assert sorted(p.name for p in quarantine.iterdir()) == [folder.name]
    # nothing is purged before the preservation period ends
    service = ComplianceService(make_config(db_url))
    try:
        assert example.purge(service, quarantine, datetime.now(UTC)) == []
        assert example.purge(service, quarantine, datetime(2100, 1, 1, tzinfo=UTC)) == [folder]
    finally:
        service.engine.dispose()


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


# -- the review's findings (issue 10): each of these fails on the first version ------------------


def received(service: ComplianceService, clock: FakeClock, sender_for: Any,
             **data: Any) -> dict[str, Any]:
    """Receive an order and return it as the automation runner hands it to the handler."""
    sender = sender_for("http://unused")
    body = sender.envelope("order.created", order_data(**data), timestamp=int(clock.timestamp()))
    assert service.receive("nl-atkm", sender.headers_for(body), body).status == 201
    return service.get_order("nl-atkm", data.get("order_id", "ord-1"))


def run_handler(example: Any, service: ComplianceService, order: dict[str, Any],
                web_root: Path, quarantine: Path) -> None:
    handler = example.make_handler(PREFIX, web_root, quarantine)
    handler(AutomationContext(order=order, service=service, name="auto_takedown"))


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_ids_that_sanitise_alike_get_separate_folders_and_purge_keeps_preserved_evidence(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path
) -> None:
    """Orders A:1 and A_1 shared a folder: the second one's file and record overwrote the
    first's, and --purge then deleted evidence due for 180 days."""
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    (web_root / "u").mkdir(parents=True)
    item = [{"item_id": "i1", "url": PREFIX + "u/a.jpg"}]
    (web_root / "u" / "a.jpg").write_bytes(b"first: preserve for 180 days")
    kept = received(service, clock, sender_for, order_id="A:1", items=item,
                    preserve_for_days=180)
    run_handler(example, service, kept, web_root, quarantine)
    (web_root / "u" / "a.jpg").write_bytes(b"second: nothing to preserve")
    other = received(service, clock, sender_for, order_id="A_1", items=item)
    run_handler(example, service, other, web_root, quarantine)
    first = example.quarantine_folder(quarantine, "nl-atkm", "A:1", "i1")
    second = example.quarantine_folder(quarantine, "nl-atkm", "A_1", "i1")
    assert first != second
    assert (first / "content").read_bytes() == b"first: preserve for 180 days"
    assert json.loads((first / "record.json").read_text())["order_id"] == "A:1"
    assert example.purge(service, quarantine, clock()) == [second]
    assert (first / "content").read_bytes() == b"first: preserve for 180 days"


def test_dot_dot_ids_never_leave_the_quarantine(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path
) -> None:
    """Ids ".." put files beside the quarantine (inside a web root, still public) where
    --purge never found them."""
    example = load("auto_takedown")
    disk = tmp_path / "disk"
    web_root, quarantine = disk / "www", disk / "site" / "quarantine"
    web_root.mkdir(parents=True)
    (web_root / "a.jpg").write_bytes(b"evidence")
    order = received(service, clock, sender_for, order_id="..",
                     items=[{"item_id": "..", "url": PREFIX + "a.jpg"}], preserve_for_days=1)
    run_handler(example, service, order, web_root, quarantine)
    assert files_under(disk) == files_under(quarantine) != set()
    assert [p.parent for p in files_under(quarantine)][0].parent == quarantine
    clock.advance(days=2)
    assert len(example.purge(service, quarantine, clock())) == 1
    assert files_under(disk) == set()


def test_every_item_is_handled_when_one_url_is_bad(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path
) -> None:
    """A URL with %00 or a 256-byte segment raised and aborted the other items."""
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    web_root.mkdir()
    (web_root / "good.jpg").write_bytes(b"x")
    order = received(service, clock, sender_for, items=[
        {"item_id": "nul", "url": PREFIX + "a%00b.jpg"},
        {"item_id": "long", "url": PREFIX + "d/" + "a" * 256 + ".jpg"},
        {"item_id": "good", "url": PREFIX + "good.jpg"},
    ])
    run_handler(example, service, order, web_root, quarantine)
    done = service.get_order("nl-atkm", "ord-1")
    assert {i["item_id"]: i["action"] for i in done["items"]} == {
        "nul": "not_found", "long": "not_found", "good": "removed"}
    assert done["status"] == "completed"


@pytest.mark.parametrize("spoiler", ["withdrawn", "another_action"])
def test_the_file_is_restored_when_the_action_cannot_be_recorded(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path,
    spoiler: str
) -> None:
    """A file moved before ctx.act failed stayed in the quarantine with no record of it; now it
    goes back, and the other items are still handled."""
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    web_root.mkdir()
    (web_root / "a.jpg").write_bytes(b"a")
    (web_root / "b.jpg").write_bytes(b"b")
    order = received(service, clock, sender_for, items=[
        {"item_id": "i1", "url": PREFIX + "a.jpg"}, {"item_id": "i2", "url": PREFIX + "b.jpg"}])
    # after the runner read the order, before the handler acts:
    if spoiler == "withdrawn":
        sender = sender_for("http://unused")
        body = sender.envelope("order.withdrawn", {"order_id": "ord-1"},
                               timestamp=int(clock.timestamp()))
        assert service.receive("nl-atkm", sender.headers_for(body), body).status == 200
    else:
        service.act("nl-atkm", "ord-1", "i1", {"action": "not_hosted"}, actor="operator:x")
    with pytest.raises(example.ItemsFailed) as failed:
        run_handler(example, service, order, web_root, quarantine)
    assert (web_root / "a.jpg").read_bytes() == b"a"
    assert not example.quarantine_folder(quarantine, "nl-atkm", "ord-1", "i1").exists()
    if spoiler == "withdrawn":
        assert (web_root / "b.jpg").read_bytes() == b"b"
        assert "i1: OrderWithdrawn" in str(failed.value) and "i2: OrderWithdrawn" in str(
            failed.value)
    else:  # i2 was still handled
        assert not (web_root / "b.jpg").exists()
        assert [i["action"] for i in service.get_order("nl-atkm", "ord-1")["items"]] == [
            "not_hosted", "removed"]


def test_a_run_stopped_after_the_move_records_removed_next_time(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path
) -> None:
    """Killed between the move and ctx.act, the next run found no file and reported
    not_found while the content sat in the quarantine."""
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    web_root.mkdir()
    order = received(service, clock, sender_for,
                     items=[{"item_id": "i1", "url": PREFIX + "a.jpg"}], preserve_for_days=180)
    folder = example.quarantine_folder(quarantine, "nl-atkm", "ord-1", "i1")
    folder.mkdir(parents=True)  # what the stopped run left: the file moved, the record pending
    (folder / "content").write_bytes(b"a")
    (folder / "record.json").write_text(json.dumps({
        "issuer_id": "nl-atkm", "order_id": "ord-1", "item_id": "i1", "state": "moved"}))
    run_handler(example, service, order, web_root, quarantine)
    [item] = service.get_order("nl-atkm", "ord-1")["items"]
    assert item["action"] == "removed"
    assert json.loads((folder / "record.json").read_text())["preserve_until"] == item[
        "preserve_until"]


def test_purge_trusts_the_database_not_the_record(
    service: ComplianceService, clock: FakeClock, sender_for: Any, tmp_path: Path
) -> None:
    """--purge deleted whatever record.json said had expired; a record overwritten, edited or
    left pending must never cost evidence that is due."""
    example = load("auto_takedown")
    web_root, quarantine = tmp_path / "www", tmp_path / "quarantine"
    web_root.mkdir()
    (web_root / "a.jpg").write_bytes(b"a")
    order = received(service, clock, sender_for, preserve_for_days=180,
                     items=[{"item_id": "i1", "url": PREFIX + "a.jpg"},
                            {"item_id": "i2", "url": PREFIX + "b.jpg"}])
    run_handler(example, service, order, web_root, quarantine)
    folder = example.quarantine_folder(quarantine, "nl-atkm", "ord-1", "i1")
    record = json.loads((folder / "record.json").read_text())
    (folder / "record.json").write_text(json.dumps(dict(record, preserve_until=None)))
    pending = example.quarantine_folder(quarantine, "nl-atkm", "ord-2", "i1")
    pending.mkdir()
    (pending / "record.json").write_text(json.dumps(
        {"issuer_id": "nl-atkm", "order_id": "ord-2", "item_id": "i1"}))  # no such order
    misplaced = quarantine / ("0" * 64)
    misplaced.mkdir()
    (misplaced / "record.json").write_text(json.dumps(dict(record, preserve_until=None)))
    assert example.purge(service, quarantine, clock()) == []
    clock.advance(days=181)
    assert example.purge(service, quarantine, clock()) == [folder]
    assert pending.exists() and misplaced.exists()


def test_auto_takedown_quarantines_an_own_initiative_entry_as_disabled(
    db_url: str, tmp_path: Path
) -> None:
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
        folder = example.quarantine_folder(quarantine, "self", entry["order_id"], "1")
        assert (folder / "content").read_bytes() == b"known"  # quarantined, not deleted
        assert json.loads((folder / "record.json").read_text())["state"] == "disabled"
        assert not (web_root / "match.jpg").exists()
        assert service.verify_audit().intact
    finally:
        service.engine.dispose()
