"""What an alert says (PROTOCOL 9.3): pure functions from an alert's facts to each channel's
message. No secret, token or (unless the channel has ``include_urls``) item URL is ever in the
facts, so none can reach a mailbox, a chat log or an incident.

The facts are what the outbox row stores (``deliveries.body``), fixed when the alert is raised:
``event``, ``at`` (the instant of the event, against which the time left is told), and for an
order ``issuer_id``, ``issuer_name``, ``order_id``, ``kind``, ``regime``, ``category``,
``received_at``, ``deadline``, ``items_total``, ``items_resolved``; ``urls`` only for a channel
with ``include_urls``; ``detail`` for ``delivery_failed`` and ``automation_failed``; ``id`` for
``test``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..timeutil import format_micros, format_time, parse_time

#: PagerDuty's limit on ``payload.summary``.
SUMMARY_MAX = 1024
#: A deadline this close (or closer) makes a PagerDuty incident an ``error``.
URGENT = timedelta(hours=12)


def order_facts(
    event: str,
    order: Any,
    *,
    issuer_name: str | None,
    at: datetime,
    urls: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts of an alert about ``order`` (a row or mapping with the ``orders`` columns,
    times in microseconds). ``urls`` only for a channel with ``include_urls``."""
    get = order.get if isinstance(order, dict) else lambda key: getattr(order, key)
    facts: dict[str, Any] = {
        "event": event, "at": format_time(at),
        "issuer_id": get("issuer_id"), "issuer_name": issuer_name or get("issuer_id"),
        "order_id": get("order_id"), "kind": get("kind"), "regime": get("regime"),
        "category": get("category"), "received_at": format_micros(get("received_at")),
        "deadline": format_micros(get("deadline")), "items_total": get("items_total"),
        "items_resolved": get("items_resolved"),
    }
    if urls is not None:
        facts["urls"] = list(urls)
    if detail:
        facts["detail"] = detail
    return facts


def test_facts(alert_id: str, at: datetime, channel: str) -> dict[str, Any]:
    """The facts of a ``test`` alert."""
    return {"event": "test", "at": format_time(at), "id": alert_id, "channel": channel}


def duration(delta: timedelta) -> str:
    """``2 h 5 min``, ``47 min``, ``1 d 3 h``, ``0 min`` (whole minutes, rounded down)."""
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def time_left(facts: dict[str, Any]) -> str | None:
    """``in 47 min`` or ``overdue by 2 h 5 min`` at the alert's instant; None without a
    deadline."""
    if not facts.get("deadline"):
        return None
    delta = parse_time(facts["deadline"]) - parse_time(facts["at"])
    return f"in {duration(delta)}" if delta >= timedelta(0) else f"overdue by {duration(delta)}"


def is_overdue(facts: dict[str, Any]) -> bool:
    """Whether the deadline had passed at the alert's instant."""
    deadline = facts.get("deadline")
    return deadline is not None and parse_time(deadline) < parse_time(facts["at"])


def link(dashboard_url: str | None, facts: dict[str, Any]) -> str | None:
    """``<dashboard_url>/ui/orders/<issuer_id>/<order_id>``; None without a dashboard or an
    order."""
    if not dashboard_url or "order_id" not in facts:
        return None
    return (f"{dashboard_url.rstrip('/')}/ui/orders/{quote(facts['issuer_id'], safe='')}/"
            f"{quote(facts['order_id'], safe='')}")


def subject(hoster_id: str, facts: dict[str, Any]) -> str:
    """``[<hoster_id>] <event>: <regime> <kind> <issuer_id>/<order_id>, deadline <deadline or
    "none"> (<time left>)``; a test alert names its channel instead."""
    if facts["event"] == "test":
        return (f"[{hoster_id}] test: an alert from hoster-compliance through channel "
                f"{facts['channel']}")
    head = (f"[{hoster_id}] {facts['event']}: {facts['regime']} {facts['kind']} "
            f"{facts['issuer_id']}/{facts['order_id']}, deadline {facts['deadline'] or 'none'}")
    left = time_left(facts)
    return f"{head} ({left})" if left else head


def details(hoster_id: str, dashboard_url: str | None, facts: dict[str, Any]) -> dict[str, Any]:
    """The ``hoster_compliance`` object of a webhook alert (PagerDuty's ``custom_details``)."""
    if facts["event"] == "test":
        return {"event": "test", "hoster_id": hoster_id, "channel": facts["channel"],
                "id": facts["id"], "link": dashboard_url}
    out: dict[str, Any] = {key: facts[key] for key in (
        "event", "issuer_id", "order_id", "kind", "regime", "category", "received_at",
        "deadline")}
    out["overdue"] = is_overdue(facts)
    out["items_total"], out["items_resolved"] = facts["items_total"], facts["items_resolved"]
    out["link"] = link(dashboard_url, facts)
    if "urls" in facts:
        out["urls"] = facts["urls"]
    if "detail" in facts:
        out["detail"] = facts["detail"]
    return out


def email_body(hoster_id: str, dashboard_url: str | None, facts: dict[str, Any]) -> str:
    """The text/plain body: issuer, kind, regime, category, items, times, time left, link."""
    if facts["event"] == "test":
        return (f"This is a test alert from hoster-compliance ({hoster_id}) through the alert "
                f"channel {facts['channel']}, sent at {facts['at']}.\n"
                "If you read this, alerts reach you here.\n")
    lines = [
        f"{facts['event']}: {facts['regime']} {facts['kind']} "
        f"{facts['issuer_id']}/{facts['order_id']}", "",
        f"Issuer:      {facts['issuer_name']} ({facts['issuer_id']})",
        f"Kind:        {facts['kind']}",
        f"Regime:      {facts['regime']}",
        f"Category:    {facts['category']}",
        f"Items:       {facts['items_total']} ({facts['items_resolved']} resolved)",
        f"Received at: {facts['received_at']}",
        f"Deadline:    {facts['deadline'] or 'none'}",
    ]
    left = time_left(facts)
    if left:
        lines.append(f"Time left:   {left}")
    url = link(dashboard_url, facts)
    if url:
        lines.append(f"Link:        {url}")
    lines += _detail_lines(facts.get("detail") or {})
    if facts.get("urls"):
        lines += ["", "Item URLs:"] + [f"  {u}" for u in facts["urls"]]
    return "\n".join(lines) + "\n"


def _detail_lines(detail: dict[str, Any]) -> list[str]:
    lines = []
    if "callback" in detail:
        lines.append(f"Callback:    {detail['callback']} (delivery {detail.get('delivery_id')}) "
                     f"failed: {detail.get('error')}")
    for failure in detail.get("handlers", ()):
        lines.append(f"Automation:  handler {failure['handler']} raised {failure['error']}")
    return lines


def webhook_payload(
    hoster_id: str, dashboard_url: str | None, facts: dict[str, Any]
) -> dict[str, Any]:
    """A Slack- and Mattermost-compatible incoming-webhook message."""
    return {"text": subject(hoster_id, facts),
            "hoster_compliance": details(hoster_id, dashboard_url, facts)}


def dedup_key(hoster_id: str, facts: dict[str, Any]) -> str:
    """One PagerDuty incident per order (``<hoster_id>/<issuer_id>/<order_id>``); failures and
    tests have their own (``<hoster_id>/<event>/<id>``)."""
    event = facts["event"]
    if event == "test":
        return f"{hoster_id}/test/{facts['id']}"
    if event == "delivery_failed":
        return f"{hoster_id}/delivery_failed/{facts['detail']['delivery_id']}"
    if event == "automation_failed":
        return f"{hoster_id}/automation_failed/{facts['issuer_id']}/{facts['order_id']}"
    return f"{hoster_id}/{facts['issuer_id']}/{facts['order_id']}"


def severity(facts: dict[str, Any]) -> str:
    """``critical`` (regime EU_TCO, or overdue), ``error`` (a deadline within 12 h of the
    alert) or ``warning``."""
    if facts["event"] == "test":
        return "warning"
    if facts["regime"] == "EU_TCO" or facts["event"] == "overdue" or is_overdue(facts):
        return "critical"
    deadline = facts.get("deadline")
    if deadline and parse_time(deadline) - parse_time(facts["at"]) <= URGENT:
        return "error"
    return "warning"


def pagerduty_payload(
    hoster_id: str, dashboard_url: str | None, facts: dict[str, Any], routing_key: str
) -> dict[str, Any]:
    """An Events API v2 message: ``resolve`` for the ``resolved`` event, else ``trigger``."""
    key = dedup_key(hoster_id, facts)
    if facts["event"] == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}
    url = link(dashboard_url, facts) if facts["event"] != "test" else dashboard_url
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": subject(hoster_id, facts)[:SUMMARY_MAX],
            "source": hoster_id,
            "severity": severity(facts),
            "timestamp": facts["at"],
            "component": "removal-orders",
            "custom_details": details(hoster_id, dashboard_url, facts),
        },
        "links": [{"href": url, "text": "Open in the hoster-compliance dashboard"}] if url else [],
    }
