"""What the browser tests share besides their fixtures (tests/browser/conftest.py): Chromium's
flags and the live receiver's handle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance_receiver import create_app
from tests.helpers import ISSUER_SECRET, TOKEN, LiveServer, make_config

#: Debian's Chromium under Playwright, kept off the network.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]
TIMEOUT_MS = 10_000


@dataclass
class Live:
    url: str
    issuer: CallbackServer
    service: ComplianceService
    sender: IssuerSender

    def login(self, page: Page, token: str = TOKEN) -> None:
        page.goto(self.url + "/ui/")
        page.get_by_label("Operator token").fill(token)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(self.url + "/ui/orders")


@contextmanager
def live_receiver(db_url: str, **settings: Any) -> Iterator[Live]:
    """The real receiver with its delivery worker on loopback, a loopback issuer it calls
    back, and a sender that signs as that issuer; ``settings`` go to ``make_config``."""
    with CallbackServer(ISSUER_SECRET) as issuer:
        app = create_app(make_config(db_url, api_base=issuer.url, **settings), start_worker=True)
        service: Any = app.extensions["hoster_compliance"]
        try:
            with LiveServer(app) as server, \
                    IssuerSender(server.url, "nl-atkm", ISSUER_SECRET) as sender:
                yield Live(server.url, issuer, service, sender)
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            service.engine.dispose()
