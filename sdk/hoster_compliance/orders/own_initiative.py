"""Own-initiative entries (PROTOCOL 11.2): what the hoster's own detection found, stored through
the same intake as orders: ``kind = own_initiative``, ``issuer_id = "self"``, regime ``OTHER``
with a deadline of one hour, the configured category. Listed, alerted and acted on like any
order (automation handlers run for it); no acknowledgement or outcome is sent (there is no
issuer). A file already in an entry with the same hash is not entered again."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..alerts import queue as alerts
from ..config import Config
from ..config_hashcheck import HashcheckConfig
from ..store.audit import canonical_json
from ..store.tables import chain_head, items, orders
from ..timeutil import format_time, to_micros
from ..vocabulary import OPEN, OTHER, OWN_INITIATIVE, SELF
from .intake import NewOrder, write_orders

DEADLINE = timedelta(hours=1)
ACTOR = "detection:scan"
MAX_NOTE = 2000
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Finding:
    """One matching file: its public URL, the hash that matched and where it was known."""

    url: str
    algorithm: str
    value: str
    note: str


def new_entry_id(now: datetime) -> str:
    """``scan-<UTC time>-<6 hex>``: sortable, unique, within the order_id alphabet."""
    return f"scan-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def prepare_entry(
    settings: HashcheckConfig, findings: Sequence[Finding], now: datetime, entry_id: str,
    config: Config | None = None,
) -> NewOrder:
    """The entry's row, items and audit detail; with ``config``, its alert schedule and its
    ``received`` alerts (PROTOCOL 9). Pure."""
    deadline = now + DEADLINE
    received = format_time(now)
    assert received is not None
    item_docs: list[dict[str, Any]] = [
        {"item_id": str(position), "url": f.url,
         "content_hash": {"algorithm": f.algorithm, "value": f.value},
         "note": f.note[:MAX_NOTE]}
        for position, f in enumerate(findings, start=1)
    ]
    data: dict[str, Any] = {
        "order_id": entry_id, "kind": OWN_INITIATIVE, "regime": OTHER,
        "category": settings.category, "issued_at": received, "deadline": format_time(deadline),
        "items": item_docs,
    }
    if settings.subcategory is not None:
        data["subcategory"] = settings.subcategory
    row = {
        "issuer_id": SELF, "order_id": entry_id, "kind": OWN_INITIATIVE, "regime": OTHER,
        "category": settings.category, "subcategory": settings.subcategory,
        "subcategory_other": None,
        "issuer_member_state": "",  # no authority; the hoster itself
        "trusted_flagger": False, "confidential": False, "preserve_for_days": None,
        "issued_at": to_micros(now), "deadline": to_micros(deadline),
        "data": canonical_json(data), "status": OPEN, "received_at": to_micros(now),
        "items_total": len(item_docs), "items_resolved": 0, "automation_state": "pending",
        "alert_due_at": None if config is None else alerts.due_soon_instant(
            config, to_micros(now), to_micros(deadline)),
        "alert_hold_until": None,
    }
    item_rows = [
        {"position": position, "item_id": doc["item_id"], "url": doc["url"],
         "content_hash_algorithm": doc["content_hash"]["algorithm"],
         "content_hash_value": doc["content_hash"]["value"], "note": doc["note"]}
        for position, doc in enumerate(item_docs)
    ]
    drafts = alerts.received_drafts(config, row, [i["url"] for i in item_rows], now) \
        if config is not None and config.alerts else ()
    return NewOrder(SELF, entry_id, data, row, item_rows, None, received,
                    format_time(deadline), actor=ACTOR, received_alerts=drafts)


def record_entry(
    engine: Engine, settings: HashcheckConfig, findings: Sequence[Finding], now: datetime,
    config: Config | None = None,
) -> dict[str, Any]:
    """Store one entry for the findings not already entered (same URL and hash), in one
    transaction. Returns ``{"order_id": id or None, "items": new, "already_entered": n}``."""
    unique: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.url, finding.value), finding)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two scans at once must not both enter a file
            conn.execute(sa.select(chain_head.c.id).where(chain_head.c.id == 1)
                         .with_for_update())
        known: set[tuple[str, str]] = set()
        urls = sorted({url for url, _ in unique})
        for start in range(0, len(urls), _LOOKUP_CHUNK):
            known.update((row.url, row.content_hash_value) for row in conn.execute(
                sa.select(items.c.url, items.c.content_hash_value)
                .join(orders, orders.c.id == items.c.order_pk)
                .where(orders.c.kind == OWN_INITIATIVE,
                       items.c.url.in_(urls[start:start + _LOOKUP_CHUNK]))
            ))
        fresh = [f for key, f in unique.items() if key not in known]
        if not fresh:
            return {"order_id": None, "items": 0, "already_entered": len(unique)}
        entry_id = new_entry_id(now)
        outcome = write_orders(
            conn, [prepare_entry(settings, fresh, now, entry_id, config)], lookup=False)[0]
        if isinstance(outcome, Exception):
            raise outcome
    return {"order_id": entry_id, "items": len(fresh), "already_entered": len(unique) - len(fresh),
            "deadline": format_time(now + DEADLINE)}
