"""What the browser tests share besides their fixtures (tests/browser/conftest.py): Chromium's
flags and the live receiver's handle."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page

from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from tests.helpers import TOKEN

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
