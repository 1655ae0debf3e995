"""Helpers for the dashboard's tests through Flask's test client: log in the way a browser does
(the CSRF token from the page), read pages as their elements and their text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from tests.helpers import TOKEN

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(client: Any, token: str = TOKEN) -> str:
    """Log in through the form; returns a CSRF token for later forms."""
    form = client.get("/ui/login")
    response = client.post("/ui/login", data={"csrf_token": csrf_token(form.text),
                                              "token": token})
    assert response.status_code == 303, response.text
    return csrf_token(client.get("/ui/orders").text)


class Page(HTMLParser):
    """A page's elements (name and attributes) and its text, as a browser would show it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page
