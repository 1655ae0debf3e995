"""Storing a notice from anyone (PROTOCOL 10.2): the same ``orders`` and ``items`` rows as an
order, ``kind = notice`` under the issuer ``public``, one item per URL; a repeat of the same JSON
from the same client within 24 h is answered with the first notice; the rate limit per client is
kept in the database, so every process and machine shares it."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..alerts import queue as alerts
from ..config import Config
from ..errors import RateLimited
from ..notifier import mail
from ..orders import rules
from ..orders.history import received_detail
from ..protocol import categories
from ..store import orders as store
from ..store.audit import append_event, canonical_json
from ..store.tables import orders, rate_limits
from ..timeutil import format_micros, format_time, to_micros
from ..vocabulary import NOTICE, OPEN, OTHER, PUBLIC

log = logging.getLogger("hoster_compliance.notices")

#: ``N-`` and 12 characters of this alphabet, drawn from a CSPRNG (36^12: about 62 bits).
ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DUPLICATE_WINDOW = timedelta(hours=24)
RATE_WINDOW_SECONDS = 3600

Response = tuple[int, dict[str, Any]]


def new_notice_id() -> str:
    """``N-`` and 12 characters of 0-9A-Z from ``secrets`` (unguessable)."""
    return "N-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def client_address(remote_addr: str | None, forwarded_for: str | None, hops: int) -> str:
    """The client's address: with ``hops`` trusted proxies in front, the ``hops``-th address
    from the right of ``X-Forwarded-For`` (each proxy appends the address it saw); without
    trusted proxies, or when the header has fewer entries, the connection's address."""
    if hops > 0 and forwarded_for:
        chain = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops][:100]
    return (remote_addr or "unknown")[:100]


def client_key(address: str) -> str:
    """What the database keeps of a client's address: a hash, never the address."""
    return hashlib.sha256(b"hoster-compliance client\n" + address.encode()).hexdigest()


@dataclass(frozen=True)
class NewNotice:
    """A validated notice, ready to be written."""

    notice_id: str
    row: dict[str, Any]
    item_rows: list[dict[str, Any]]
    urls: list[str]
    client: str
    deadline: datetime | None


def prepare_notice(
    config: Config, loaded: dict[str, Any], doc: object, client: str, now: datetime
) -> NewNotice:
    """The rows of a new notice received ``now`` from ``client`` (a :func:`client_key`). Pure
    but for the random id. ``data`` keeps what the operator reads (never the notifier)."""
    notice_id = new_notice_id()
    deadline = rules.notice_deadline(now, config.notices.deadline_hours)
    category = loaded.get("category") or categories.not_specified(NOTICE)
    urls: list[str] = loaded["urls"]
    received = format_time(now)
    data = {
        "order_id": notice_id, "kind": NOTICE, "category": category,
        "subcategory": loaded.get("subcategory"),
        "subcategory_other": loaded.get("subcategory_other"),
        "statement_of_reasons": loaded["explanation"], "issued_at": received,
        "items": [{"item_id": str(n), "url": url} for n, url in enumerate(urls, start=1)],
        "good_faith": True,
    }
    notifier = loaded.get("notifier") or {}
    row = {
        "issuer_id": PUBLIC, "order_id": notice_id, "kind": NOTICE, "regime": OTHER,
        "category": category, "subcategory": loaded.get("subcategory"),
        "subcategory_other": loaded.get("subcategory_other"), "issuer_member_state": "",
        "trusted_flagger": False, "confidential": False, "preserve_for_days": None,
        "issued_at": to_micros(now), "deadline": None if deadline is None else to_micros(deadline),
        "data": canonical_json({k: v for k, v in data.items() if v is not None}),
        "status": OPEN, "received_at": to_micros(now), "items_total": len(urls),
        "items_resolved": 0, "automation_state": "pending",
        "notifier_name": notifier.get("name"), "notifier_email": notifier.get("email"),
        "submission_key": hashlib.sha256(
            (client + "\n" + canonical_json(doc)).encode()).hexdigest(),
    }
    item_rows = [
        {"position": n - 1, "item_id": str(n), "url": url, "content_hash_algorithm": None,
         "content_hash_value": None, "note": None}
        for n, url in enumerate(urls, start=1)
    ]
    return NewNotice(notice_id, row, item_rows, urls, client, deadline)


def take_rate_limit(conn: Connection, client: str, now: datetime, limit: int) -> None:
    """Count one notice for ``client`` in the current hour; ``RateLimited`` once it has sent
    ``limit`` (0: no limit). The UPDATE locks the counter row, so concurrent transactions on
    any machine count one after the other; a first INSERT that races another fails the
    transaction with IntegrityError, and the caller tries again."""
    if limit <= 0:
        return
    seconds = int(now.timestamp())
    window = seconds // RATE_WINDOW_SECONDS
    where = (rate_limits.c.client == client, rate_limits.c.hour == window)
    counted = conn.execute(
        rate_limits.update().where(*where, rate_limits.c.count < limit)
        .values(count=rate_limits.c.count + 1)
    ).rowcount
    if counted:
        return
    if conn.execute(sa.select(rate_limits.c.count).where(*where)).first() is not None:
        retry_after = max(1, (window + 1) * RATE_WINDOW_SECONDS - seconds)
        raise RateLimited(f"At most {limit} notices per hour from one address; "
                          f"retry in {retry_after} s.", retry_after=retry_after)
    conn.execute(rate_limits.insert().values(client=client, hour=window, count=1))
    # Old windows are of no use: drop this client's, so the table stays small.
    conn.execute(rate_limits.delete().where(rate_limits.c.client == client,
                                            rate_limits.c.hour < window))


def _duplicate_of(conn: Connection, new: NewNotice, now: datetime) -> Response | None:
    earlier = conn.execute(
        sa.select(orders).where(
            orders.c.submission_key == new.row["submission_key"],
            orders.c.issuer_id == PUBLIC,
            orders.c.received_at >= to_micros(now - DUPLICATE_WINDOW),
        ).order_by(orders.c.received_at).limit(1)
    ).first()
    if earlier is None:
        return None
    return 200, {"notice_id": earlier.order_id, "status": earlier.status,
                 "received_at": format_micros(earlier.received_at),
                 "deadline": format_micros(earlier.deadline), "duplicate": True}


def write_notice(conn: Connection, config: Config, new: NewNotice, now: datetime) -> Response:
    """Inside the caller's transaction: a repeat within 24 h is answered with the first
    notice; else the rate limit is counted, the notice stored with its ``received`` event and
    its confirmation queued."""
    duplicate = _duplicate_of(conn, new, now)
    if duplicate is not None:
        return duplicate
    take_rate_limit(conn, new.client, now, config.notices.max_per_hour_per_client)
    # Its `received` alerts are raised with it, as an order's are (orders/intake.write_orders),
    # unless automation handlers look at it first: then the runner raises them after they ran.
    drafts = alerts.received_drafts(config, new.row, list(new.urls), now) \
        if config.alerts else ()
    pks = store.insert_orders(conn, [new.row], [new.item_rows])
    order_pk = pks[(PUBLIC, new.notice_id)]
    alerts.queue_received(conn, [(order_pk, new.row, drafts)])
    deadline_text = format_time(new.deadline)
    # The received event holds every column fixed at receipt, as an order's (audit verify).
    append_event(conn, order_pk=order_pk, at=new.row["received_at"], type="received",
                 actor="public", detail=received_detail(new.row, new.item_rows))
    mail.queue_confirmation(conn, config, order_pk, new.notice_id, new.urls, new.deadline,
                            new.row["notifier_email"], now)
    return 201, {"notice_id": new.notice_id, "status": OPEN, "received_at": format_time(now),
                 "deadline": deadline_text}


def store_notice(engine: Engine, config: Config, new: NewNotice, now: datetime) -> Response:
    """Write ``new`` in one transaction (tried twice: a first counter row or the same notice
    written by another process at the same moment fails the first try)."""
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                status, body = write_notice(conn, config, new, now)
            if status == 201:
                log.info("notice received notice=%s items=%d deadline=%s", new.notice_id,
                         len(new.item_rows), body["deadline"])
            return status, body
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
