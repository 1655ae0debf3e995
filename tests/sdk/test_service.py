"""ComplianceService is the whole boundary: reads, reports, the audit check and retries are its
methods, and none of them lets a database driver's error escape (StorageUnavailable instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hoster_compliance.errors import InvalidQuery, StorageUnavailable, UnknownOrder
from hoster_compliance.issuer import IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.engine import make_engine
from tests.helpers import ISSUER_SECRET, FakeClock, make_config


def _order(order_id: str, items: int = 1) -> dict[str, Any]:
    return {"order_id": order_id, "kind": "order", "legal_basis": "Art. 3",
            "statement_of_reasons": "CSAM", "issued_at": "2026-11-22T08:00:00Z",
            "items": [{"item_id": f"i{n}", "url": f"https://h.example/{n}"}
                      for n in range(items)]}


def _receive(service: ComplianceService, clock: FakeClock, data: dict[str, Any]) -> int:
    sender = IssuerSender("http://unused", "nl-atkm", ISSUER_SECRET, clock=clock.timestamp)
    body = sender.envelope("order.created", data, timestamp=int(clock.timestamp()))
    return service.receive("nl-atkm", sender.headers_for(body), body).status


def test_reads_report_and_audit_through_the_service(
    service: ComplianceService, clock: FakeClock
) -> None:
    for n in range(3):
        assert _receive(service, clock, _order(f"o-{n}", items=2)) == 201
    service.act("nl-atkm", "o-1", None, {"action": "removed"}, actor="test")
    listed = list(service.iter_orders("all"))
    assert [o["order_id"] for o in listed] == ["o-0", "o-1", "o-2"]
    page = service.list_orders({"status": "open", "limit": "1"})
    assert [o["order_id"] for o in page["orders"]] == ["o-0"] and page["next_cursor"]
    rest = service.list_orders({"status": "open", "cursor": page["next_cursor"]})
    assert [o["order_id"] for o in rest["orders"]] == ["o-2"]
    detail = service.get_order("nl-atkm", "o-1")
    assert detail["status"] == "completed" and len(detail["items"]) == 2
    assert [d["type"] for d in detail["deliveries"]] == ["order.acknowledged", "order.outcome"]
    assert len(service.list_deliveries()["deliveries"]) == 4
    report = service.report("2026-11-01", date(2026, 11, 30))
    assert report["orders"]["total"]["count"] == 3
    audit = service.verify_audit()
    assert audit.events >= 5 and audit.intact and audit.orders == 3
    with pytest.raises(UnknownOrder):
        service.get_order("nl-atkm", "nope")


@pytest.mark.parametrize(("start", "end"), [("2026-11-30", "2026-11-01"), ("x", "2026-11-01"),
                                            ("", ""), ("2026-01-01", "9999-12-31")])
def test_report_dates_are_checked(service: ComplianceService, start: str, end: str) -> None:
    with pytest.raises(InvalidQuery):
        service.report(start, end)


@pytest.fixture
def unreachable(tmp_path: Path, clock: FakeClock) -> Iterator[ComplianceService]:
    """A service whose SQLite file cannot be opened (its folder does not exist)."""
    url = f"sqlite:///{tmp_path / 'missing' / 'hc.db'}"
    service = ComplianceService(make_config(url), make_engine(url), clock=clock,
                                create_schema=False)
    yield service
    service.close()


CALLS: dict[str, Callable[[ComplianceService], object]] = {
    "act": lambda s: s.act("nl-atkm", "o-1", None, {"action": "removed"}, actor="t"),
    "list_orders": lambda s: s.list_orders({}),
    "iter_orders": lambda s: list(s.iter_orders()),
    "get_order": lambda s: s.get_order("nl-atkm", "o-1"),
    "list_deliveries": lambda s: s.list_deliveries(),
    "retry_delivery": lambda s: s.retry_delivery(1, actor="t"),
    "report": lambda s: s.report("2026-01-01", "2026-12-31"),
    "verify_audit": lambda s: s.verify_audit(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_no_method_leaks_a_driver_error(
    unreachable: ComplianceService, call: Callable[[ComplianceService], object]
) -> None:
    with pytest.raises(StorageUnavailable) as caught:
        call(unreachable)
    assert caught.value.status == 503 and caught.value.to_body()["error"] == "unavailable"


def test_receive_answers_503_when_storage_is_unreachable(
    unreachable: ComplianceService, clock: FakeClock
) -> None:
    assert _receive(unreachable, clock, _order("o-1")) == 503
    assert unreachable.healthy() is False
