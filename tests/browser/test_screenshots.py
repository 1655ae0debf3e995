"""Screenshots of the orders page, an order page and the deliveries page (README), taken by the
browser at 1280 and 390 px wide from realistic data (the deliveries: one callback the issuer
refused, and the alert about it that the chat refused). Written to ``docs/screenshots/`` when
``HC_UPDATE_SCREENSHOTS=1``; otherwise to a temporary folder (still checked)."""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from hoster_compliance.config import Config
from hoster_compliance.config_alerts import AlertChannel
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance.timeutil import format_time, utcnow
from hoster_compliance_receiver import create_app
from tests.helpers import OFFLIMITS_SECRET, SECRETS, TOKEN, LiveServer, make_config
from tests.helpers.hooks import HookSink

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class _History:
    """Orders stored as if they had arrived hours ago: a service, a delivery worker and an
    issuer whose clocks are set back (so acknowledgements are delivered at the time)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def open(self, config: Config) -> None:
        self.service = ComplianceService(config, clock=lambda: self.now)
        self.worker = DeliveryWorker(config, self.service.engine, clock=lambda: self.now)

    def receive(self, hours_ago: float, issuer: str, data: dict[str, Any]) -> None:
        self.now = utcnow() - timedelta(hours=hours_ago)
        data = {"issued_at": format_time(self.now - timedelta(minutes=4)), **data}
        with IssuerSender("http://unused", issuer, SECRETS[issuer],
                          clock=self.now.timestamp) as sender:
            body = sender.envelope("order.created", data, timestamp=int(self.now.timestamp()))
            result = self.service.receive(issuer, sender.headers_for(body), body)
        assert result.status == 201, result.body
        self.now += timedelta(seconds=1)
        assert self.worker.run_once() == 1  # the acknowledgement, a second later


def _items(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"item_id": str(n), "url": f"https://files.example-hosting.nl/u/{prefix}/{n}.jpg",
             "content_hash": {"algorithm": "sha256", "value": f"{n:02x}" * 32}}
            for n in range(1, count + 1)]


def _fill(history: _History) -> None:
    minors = {"category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
              "subcategory": "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"}
    history.receive(30, "nl-atkm", {
        "order_id": "DSA9-2026-044", "kind": "order", "regime": "OTHER",
        "legal_basis": "Art. 9 DSA", "statement_of_reasons": "Court order (no deadline set).",
        "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "items": _items("ip", 1)})
    history.receive(9.6, "nl-atkm", {
        "order_id": "ATKM-2026-1187", "kind": "order", "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak online kinderpornografisch materiaal, "
                       "art. 6",
        "statement_of_reasons": "Known child sexual abuse material, matched by hash against "
                                "the national list.",
        "confidential": True, "preserve_for_days": 180, "items": _items("7731", 3), **minors})
    history.now += timedelta(minutes=35)
    history.service.act("nl-atkm", "ATKM-2026-1187", "1", {"action": "removed"},
                        actor="operator:3f9a61c2")
    history.receive(3.4, "offlimits", {
        "order_id": "OL-88231", "kind": "notice", "regime": "NL_NTD", "trusted_flagger": True,
        "items": _items("5512", 4), **minors})
    history.receive(2.1, "nl-atkm", {
        "order_id": "ATKM-2026-1190", "kind": "order", "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "Known child sexual abuse material.",
        "items": _items("8120", 2), **minors})
    history.receive(1.2, "nl-atkm", {
        "order_id": "TCO-2026-0192", "kind": "order", "regime": "EU_TCO",
        "legal_basis": "Regulation (EU) 2021/784, Art. 3",
        "statement_of_reasons": "Terrorist content: recruitment video.",
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "subcategory": "KEYWORD_TERRORIST_CONTENT", "items": _items("tco", 1)})


def _fail_one(history: _History, issuer: CallbackServer) -> None:
    """An order whose acknowledgement the issuer refuses (422), and the chat refusing the
    ``delivery_failed`` alert about it."""
    issuer.respond_with(422)
    history.receive(0.5, "nl-atkm", {
        "order_id": "ATKM-2026-1193", "kind": "order", "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "Known child sexual abuse material.",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "subcategory": "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL", "items": _items("9001", 1)})
    history.now += timedelta(seconds=1)
    assert history.worker.run_once() == 1  # the alert, refused by the chat


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshots_of_the_orders_deliveries_and_an_order_page(
    new_page: Callable[..., Page], tmp_path: Path
) -> None:
    history = _History()
    with CallbackServer([SECRETS["nl-atkm"], OFFLIMITS_SECRET],
                        clock=lambda: history.now.timestamp()) as issuer, \
            HookSink(status=400) as chat:
        config = make_config(f"sqlite:///{tmp_path / 'shots.db'}", api_base=issuer.url,
                             alerts=(AlertChannel(name="oncall-chat", channel="webhook",
                                                  url=chat.url, events=("delivery_failed",)),))
        history.open(config)
        _fill(history)
        _fail_one(history, issuer)
        history.service.engine.dispose()
    app = create_app(config)  # the real clock from here on
    folder = DOCS if os.environ.get("HC_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as server:
        for width, suffix in ((1280, ""), (390, "-390")):
            page = new_page(width=width, height=900 if width > 400 else 844)
            page.goto(server.url + "/ui/")
            page.get_by_label("Operator token").fill(TOKEN)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(server.url + "/ui/orders")
            page.screenshot(path=str(folder / f"orders{suffix}.png"), full_page=True)
            page.get_by_role("link", name="nl-atkm / ATKM-2026-1187").click()
            page.screenshot(path=str(folder / f"order{suffix}.png"), full_page=True)
            page.get_by_role("link", name="Deliveries").click()
            page.get_by_role("button", name=re.compile("^Retry alert")).wait_for()
            page.screenshot(path=str(folder / f"deliveries{suffix}.png"), full_page=True)
            for name in ("orders", "order", "deliveries"):
                assert _png_size(folder / f"{name}{suffix}.png")[0] == width
    app.extensions["hoster_compliance"].engine.dispose()
