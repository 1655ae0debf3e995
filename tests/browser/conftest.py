"""Fixtures for tests in a real browser: Debian's Chromium driven by Playwright.

- ``browser`` (session): Chromium from ``shutil.which("chromium")`` (Playwright cannot download
  its own browser here), headless, with the flags that keep it off the network. When it cannot
  start, the test FAILS with the reason: browser tests are never skipped (``.ci/run`` installs
  the ``chromium`` package).
- ``page``: a fresh browser context (its own cookies) at 1280 x 900 and a page in it; closed
  after the test. ``new_page(width=..., javascript=...)`` makes more, e.g. 390 px wide or with
  JavaScript off.
- ``live``: the real receiver (``create_app`` with its delivery worker, real clock) serving over
  HTTP on a loopback port, on the parametrised database, with a loopback issuer
  (``CallbackServer``) as the issuers' ``api_base``: ``live.url``, ``live.issuer``,
  ``live.service``, ``live.sender`` (an ``IssuerSender`` signing as ``nl-atkm``) and
  ``live.login(page)``, which logs ``page`` in through the form. Its type, ``Live``, and the
  Chromium flags are in ``tests/helpers/browser.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.helpers.browser import CHROMIUM_FLAGS, TIMEOUT_MS, Live, live_receiver


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_FLAGS, timeout=30_000)
    except Exception as exc:  # any failure to start is a failed test, never a skip
        playwright.stop()
        pytest.fail(f"chromium did not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def make(width: int = 1280, height: int = 900, javascript: bool = True) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      java_script_enabled=javascript)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def live(db_url: str) -> Iterator[Live]:
    with live_receiver(db_url) as receiver:
        yield receiver
