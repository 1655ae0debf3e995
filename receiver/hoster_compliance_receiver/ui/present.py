"""Pure helpers of the dashboard's pages: how a deadline is shown, what a form becomes, which
redirect targets are safe. No Flask here, so each is tested on its own."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hoster_compliance.errors import InvalidQuery
from hoster_compliance.protocol.regimes import DUE_SOON_AT, is_due_soon, is_overdue
from hoster_compliance.timeutil import format_time, parse_time, time_left_text
from hoster_compliance.vocabulary import PUBLIC as PUBLIC_ISSUER

#: A ``datetime-local`` input's value (no offset); the form says it is UTC.
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def deadline_view(
    order: Mapping[str, Any], now: datetime, fraction: float = DUE_SOON_AT
) -> dict[str, Any]:
    """How an order's deadline is shown: ``state`` (a CSS class: ``overdue``, ``due-soon``,
    ``open``, ``closed``), ``flag`` ("due soon", or the status of a closed order) and ``left``
    ("in 47 min", "overdue by 2 h 5 min"): the words say what the colour says. And the
    instants the page's script counts from (``deadline``, ``due_soon_from``, RFC 3339)."""
    status = order["status"]
    deadline = parse_time(order["deadline"]) if order.get("deadline") else None
    received = parse_time(order["received_at"])
    due_soon_from = None
    if deadline is not None:
        due_soon_from = format_time(received + (deadline - received) * fraction)
    if status != "open":
        return {"state": "closed", "flag": status, "left": "", "deadline": None,
                "due_soon_from": None}
    if is_overdue(status, deadline, now):
        state, flag = "overdue", ""  # the time left says it: "overdue by 2 h 5 min"
    elif is_due_soon(status, received, deadline, now, fraction):
        state, flag = "due-soon", "due soon"
    else:
        state, flag = "open", ""
    return {"state": state, "flag": flag, "left": time_left_text(deadline, now),
            "deadline": format_time(deadline), "due_soon_from": due_soon_from}


def encode_item(item_id: str) -> str:
    """An item id as a form value that survives any characters (browsers turn a newline in a
    submitted value into CR LF)."""
    return base64.urlsafe_b64encode(item_id.encode("utf-8")).decode("ascii")


def decode_item(value: str) -> str | None:
    """The item id of :func:`encode_item`, or ``None`` when ``value`` is not one."""
    try:
        return base64.urlsafe_b64decode(value.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def action_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The action of PROTOCOL 4 from the dashboard's form; empty fields are left out, and a
    ``datetime-local`` value is read as UTC. Checking it is the SDK's (``service.act``)."""
    body: dict[str, Any] = {}
    action = form.get("action", "").strip()
    if action:
        body["action"] = action
    reason = form.get("reason", "").strip()
    if reason:
        body["reason"] = reason
    basis = form.get("basis", "").strip()
    if basis:
        body["basis"] = basis
    acted_at = form.get("acted_at", "").strip()
    if acted_at:
        body["acted_at"] = acted_at + ("Z" if _LOCAL_TIME.fullmatch(acted_at) else "")
        if len(acted_at) == 16:  # 2026-11-22T09:30: add the seconds RFC 3339 needs
            body["acted_at"] = acted_at + ":00Z"
    return body


def safe_next(target: str | None, prefix: str = "/ui/") -> str | None:
    """A redirect target after login, only when it is a path of the dashboard (never another
    site: ``//evil.example``, ``/\\evil.example``, ``https://...``)."""
    if not target or not target.startswith(prefix) or "\\" in target:
        return None
    if any(c in target for c in "\r\n\t") or target.startswith("//"):
        return None
    return target


def json_text(value: Any) -> str:
    """A JSON value as readable text (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


#: The order page shows this many items (and their forms) at a time.
ITEMS_PER_PAGE = 100


def item_page(
    items: list[dict[str, Any]], page: str | None, per_page: int | None = None
) -> dict[str, Any]:
    """The items an order page shows: page ``page`` (``?items_page=``, 1 when absent) of
    ``per_page`` (default :data:`ITEMS_PER_PAGE`). ``number``, ``pages``, ``items``, ``first``
    and ``last`` (1-based positions, 0 and 0 without items), ``total``, and ``ranges``: (page,
    first, last) of every page, for the links. ``InvalidQuery`` for a page that is not a whole
    number from 1 to ``pages``."""
    per_page = per_page or ITEMS_PER_PAGE
    pages = max(1, -(-len(items) // per_page))
    number = 1
    if page is not None and page != "":
        # len: int() refuses more than 4300 digits (a ValueError); no page number is that long
        if (not page.isascii() or not page.isdigit() or len(page) > 18
                or not 1 <= int(page) <= pages):
            raise InvalidQuery(f"items_page: must be a whole number from 1 to {pages}.")
        number = int(page)
    start = (number - 1) * per_page
    shown = items[start:start + per_page]
    return {
        "number": number, "pages": pages, "items": shown, "total": len(items),
        "first": start + 1 if shown else 0, "last": start + len(shown),
        "ranges": [(n, (n - 1) * per_page + 1, min(n * per_page, len(items)))
                   for n in range(1, pages + 1)],
    }


def notifier_view(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """Who sent a notice from anyone (PROTOCOL 10.2), as the order page shows it: ``state``
    ``given`` (``name``, ``email``: each None when left out), ``erased`` (``at``: when the
    retention period erased them) or ``none`` (an anonymous report). None for an order that
    did not come through the public notice form."""
    if order.get("issuer_id") != PUBLIC_ISSUER:
        return None
    notifier = order.get("notifier")
    if notifier:
        return {"state": "given", "name": notifier.get("name"), "email": notifier.get("email")}
    erased = [e for e in order.get("events", ()) if e.get("type") == "notifier_erased"]
    if erased:
        return {"state": "erased", "at": erased[-1].get("at"),
                "days": (erased[-1].get("detail") or {}).get("retention_days")}
    return {"state": "none"}
