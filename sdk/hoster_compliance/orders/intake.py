"""Receiving a webhook: detect -> verify -> parse -> store, in the order PROTOCOL 2.3 fixes.

Everything here is framework-free; :meth:`ComplianceService.receive` wraps it and turns errors
into the HTTP answer, so every adapter behaves the same."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..alerts import queue as alerts
from ..config import Config, IssuerConfig
from ..errors import (
    Conflict,
    PayloadTooLarge,
    UnknownIssuer,
    UnknownOrder,
    UnsupportedMediaType,
)
from ..logtext import safe
from ..protocol import callbacks, signing
from ..protocol.limits import DUPLICATE_EVENT_INTERVAL_SECONDS
from ..store import orders as store
from ..store.audit import (
    append_event,
    append_events,
    canonical_json,
    event_row,
    lock_head,
)
from ..store.batch import batch_transaction
from ..store.engine import storage_unavailable
from ..store.tables import orders
from ..timeutil import format_micros, format_time, to_micros
from . import rules
from .history import received_detail

DUPLICATE_EVENT_INTERVAL_MICROS = DUPLICATE_EVENT_INTERVAL_SECONDS * 1_000_000

log = logging.getLogger("hoster_compliance.orders.intake")

Response = tuple[int, dict[str, Any]]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping (dict, werkzeug headers, WSGI environ)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                return candidate
    return value


def check_media_type(content_type: str | None) -> None:
    """Only ``application/json`` (optionally ``; charset=utf-8``) is accepted."""
    if not content_type:
        raise UnsupportedMediaType("Content-Type must be application/json.")
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json.")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8", "utf8"
        ):
            raise UnsupportedMediaType("The body must be UTF-8 JSON.")


def verify_request(
    config: Config, issuer_id: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> tuple[IssuerConfig, str]:
    """The checks before the body is parsed: issuer, media type, size, signature."""
    issuer = config.issuer(issuer_id)
    if issuer is None:
        raise UnknownIssuer("No issuer with this id is configured.")
    check_media_type(header(headers, "content-type"))
    if len(body) > config.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {config.max_body_bytes} bytes.")
    webhook_id = signing.verify(
        issuer.secrets, headers, body,
        now=now.timestamp(), tolerance=config.timestamp_tolerance_seconds,
        public_keys=issuer.verify_keys,
    )
    return issuer, webhook_id


@dataclass(frozen=True)
class NewOrder:
    """A verified, validated ``order.created``, ready to be written: its ``orders`` row, its
    items, its acknowledgement (without its audit witness, known only when written) and its
    ``received`` event's detail, computed without the database."""

    issuer_id: str
    order_id: str
    data: dict[str, Any]
    row: dict[str, Any]
    item_rows: list[dict[str, Any]]
    ack: callbacks.Callback | None  # None: no acknowledgement (own-initiative: no issuer)
    received_text: str
    deadline_text: str | None
    actor: str = ""  # who the audit trail names; default ``issuer:<issuer_id>``
    #: The ``received`` event's detail (orders/history.py); computed here, on the request's
    #: thread, not in the committer's.
    detail: dict[str, Any] = field(default_factory=dict)
    #: Its ``received`` alerts, (channel, facts) per channel that takes them (PROTOCOL 9).
    received_alerts: tuple[tuple[str, dict[str, Any]], ...] = ()

    def __post_init__(self) -> None:
        if not self.detail:
            object.__setattr__(self, "detail", received_detail(self.row, self.item_rows))

    @property
    def key(self) -> tuple[str, str]:
        return self.issuer_id, self.order_id


def prepare_order(
    config: Config,
    issuer: IssuerConfig,
    data: dict[str, Any],
    loaded: dict[str, Any],
    now: datetime,
) -> NewOrder:
    """What storing ``loaded`` (received ``now``) will write: regime, deadline and defaults
    resolved, the acknowledgement built. Pure."""
    kind = loaded["kind"]
    terms = rules.terms_on_receipt(loaded, issuer.default_regime, now)
    regime, deadline = terms.regime, terms.deadline
    row = {
        "issuer_id": issuer.id,
        "order_id": loaded["order_id"],
        "kind": kind,
        "regime": regime,
        "category": terms.category,
        "subcategory": loaded.get("subcategory"),
        "subcategory_other": loaded.get("subcategory_other"),
        "issuer_member_state": loaded.get("issuer_member_state") or issuer.member_state,
        "trusted_flagger": bool(loaded.get("trusted_flagger", False)),
        "confidential": bool(loaded.get("confidential", False)),
        "preserve_for_days": loaded.get("preserve_for_days"),
        "issued_at": to_micros(loaded["issued_at"]),
        "deadline": None if deadline is None else to_micros(deadline),
        "data": canonical_json(data),
        "status": "open",
        "received_at": to_micros(now),
        "items_total": len(loaded["items"]),
        "items_resolved": 0,
        "automation_state": "pending",
        "alert_due_at": alerts.due_soon_instant(
            config, to_micros(now), None if deadline is None else to_micros(deadline)),
        "alert_hold_until": None,
    }
    item_rows = [
        {
            "position": position,
            "item_id": item["item_id"],
            "url": item["url"],
            "content_hash_algorithm": (item.get("content_hash") or {}).get("algorithm"),
            "content_hash_value": (item.get("content_hash") or {}).get("value"),
            "note": item.get("note"),
        }
        for position, item in enumerate(loaded["items"])
    ]
    received_text = format_time(now)
    assert received_text is not None
    ack = callbacks.acknowledgement(loaded["order_id"], config.hoster_id, now)
    drafts = alerts.received_drafts(config, row, [i["url"] for i in item_rows], now) \
        if config.alerts else ()
    return NewOrder(issuer.id, loaded["order_id"], data, row, item_rows, ack, received_text,
                    format_time(deadline), received_alerts=drafts)


def log_received(new: NewOrder) -> None:
    """The log line of a stored order (written after its commit)."""
    row = new.row
    log.info(
        "order received issuer=%s order=%s kind=%s regime=%s items=%d deadline=%s",
        safe(new.issuer_id), safe(new.order_id), row["kind"], row["regime"], len(new.item_rows),
        new.deadline_text,
    )


def commit_orders(engine: Engine, batch: Sequence[NewOrder]) -> list[Response | Exception]:
    """Write a batch of orders in one transaction; one outcome per order, in order: its answer,
    or the error for it alone (``Conflict``). Storage errors raise (every order of the batch
    is then unanswered: 503).

    The orders are inserted without a lookup first: a new order, the common case, costs none.
    If one of them was stored before (a redelivery), the unique constraint on
    ``(issuer_id, order_id)`` fails the transaction and the batch is written again, this time
    looking its orders up. If that fails too (another process stored one of them in between,
    or one order cannot be stored), each order is written alone, so that a failure touches
    only its own order."""
    failure: Exception | None = None
    for lookup in (False, True):
        try:
            with batch_transaction(engine) as conn:
                return write_orders(conn, batch, lookup=lookup)
        except sa.exc.IntegrityError as exc:
            failure = exc
        except sa.exc.SQLAlchemyError as exc:
            if storage_unavailable(exc):
                raise
            failure = exc
            break
        except Exception as exc:  # noqa: BLE001 - a bug in one order must not fail the others
            failure = exc
            break
    assert failure is not None
    if len(batch) == 1 and not isinstance(failure, sa.exc.IntegrityError):
        return [failure]
    log.info("a batch of %d orders failed (%s); storing each alone", len(batch),
             type(failure).__name__)
    return [_commit_alone(engine, new) for new in batch]


def _commit_alone(engine: Engine, new: NewOrder) -> Response | Exception:
    # A unique-constraint conflict means another transaction stored the same order after our
    # lookup; the second try finds it and answers as for a redelivery.
    for attempt in (1, 2):
        try:
            with batch_transaction(engine) as conn:
                return write_orders(conn, [new], lookup=True)[0]
        except sa.exc.IntegrityError as exc:
            if attempt == 2:
                return exc
        except sa.exc.SQLAlchemyError as exc:
            if storage_unavailable(exc):
                raise
            return exc
        except Exception as exc:  # noqa: BLE001
            return exc
    raise AssertionError("unreachable")  # pragma: no cover


def write_orders(
    conn: sa.Connection, batch: Sequence[NewOrder], *, lookup: bool = True
) -> list[Response | Exception]:
    """Inside the caller's transaction: insert the orders not stored yet (with items, queued
    acknowledgements and ``received`` events) and answer the others as redeliveries: the same
    data is ``200 duplicate`` (with a ``duplicate_delivery`` event, unless the order got one
    in the last minute), different data
    ``Conflict``. Without ``lookup`` every order is taken for new (an order stored before then
    raises ``IntegrityError``); the same order twice in ``batch`` is recognised either way."""
    stored = {(row.issuer_id, row.order_id): row
              for row in store.find_orders(conn, [new.key for new in batch])} if lookup else {}
    firsts: dict[tuple[str, str], NewOrder] = {}
    fresh: list[NewOrder] = []
    for new in batch:
        if new.key not in stored and new.key not in firsts:
            firsts[new.key] = new
            fresh.append(new)
    pks = store.insert_orders(conn, [new.row for new in fresh], [new.item_rows for new in fresh])
    # Its `received` alerts are raised with the order, unless automation handlers will look at
    # it first: then the runner raises them (only for an order still open) after they ran.
    alerts.queue_received(conn, [(pks[new.key], new.row, new.received_alerts) for new in fresh])
    outcomes: list[Response | Exception] = []
    events: list[dict[str, Any]] = []
    # at most one duplicate_delivery event per order a minute (PROTOCOL 13.2): a replayed
    # request must not grow an order's trail without bound
    duplicates_noted: set[int] = set()
    if stored:
        # Before looking for a recent duplicate_delivery: two processes taking the same
        # redelivery at once would otherwise both find none and both append one.
        lock_head(conn)
    for new in batch:
        actor = new.actor or f"issuer:{new.issuer_id}"
        if firsts.get(new.key) is new:
            row = new.row
            events.append(event_row(
                order_pk=pks[new.key], at=row["received_at"], type="received", actor=actor,
                detail=new.detail,
            ))
            outcomes.append((201, {
                "order_id": new.order_id, "status": "open", "received_at": new.received_text,
                "deadline": new.deadline_text, "duplicate": False,
            }))
            continue
        if new.key in stored:
            earlier = stored[new.key]
            earlier_data = json.loads(earlier.data)
            order_pk, status = earlier.id, earlier.status
            received_at, deadline = earlier.received_at, earlier.deadline
        else:  # the same order twice in this batch
            first = firsts[new.key]
            earlier_data, order_pk, status = first.data, pks[new.key], "open"
            received_at, deadline = first.row["received_at"], first.row["deadline"]
        if earlier_data != new.data:
            outcomes.append(
                Conflict("An order with this order_id was already received with different data.")
            )
            continue
        if order_pk not in duplicates_noted:
            duplicates_noted.add(order_pk)
            if new.key not in stored or not store.has_recent_event(
                    conn, order_pk, "duplicate_delivery",
                    since=new.row["received_at"] - DUPLICATE_EVENT_INTERVAL_MICROS):
                events.append(event_row(order_pk=order_pk, at=new.row["received_at"],
                                        type="duplicate_delivery", actor=actor))
        outcomes.append((200, {
            "order_id": new.order_id, "status": status,
            "received_at": format_micros(received_at), "deadline": format_micros(deadline),
            "duplicate": True,
        }))
    head = append_events(conn, events)
    if fresh:
        # Queued after the events, so that each acknowledgement carries the trail's head
        # including its own order's receipt (the head stays locked until the commit).
        assert head is not None
        store.enqueue_deliveries(conn, [
            store.delivery_row(
                order_pk=pks[new.key], issuer_id=new.issuer_id, order_id=new.order_id,
                callback=callbacks.with_audit(new.ack, head.seq, head.hash),
                now=new.row["received_at"],
            )
            for new in fresh if new.ack is not None
        ])
    return outcomes


def withdraw_order(
    engine: Engine, issuer: IssuerConfig, loaded: dict[str, Any], now: datetime,
    config: Config | None = None,
) -> Response:
    """Mark an order withdrawn; nothing recorded is deleted, queued callbacks stay queued.
    With ``config``, its alerts end (PagerDuty incidents are resolved)."""
    with engine.begin() as conn:
        existing = store.find_order(conn, issuer.id, loaded["order_id"])
        if existing is None:
            raise UnknownOrder("No order with this order_id was received from this issuer.")
        if existing.status != "withdrawn":
            conn.execute(
                orders.update().where(orders.c.id == existing.id).values(
                    status="withdrawn", withdrawn_at=to_micros(now),
                    withdrawn_reason=loaded.get("reason"),
                )
            )
            append_event(
                conn, order_pk=existing.id, at=to_micros(now), type="withdrawn",
                actor=f"issuer:{issuer.id}", detail={"reason": loaded.get("reason")},
            )
            if config is not None and existing.status == "open":
                alerts.order_closed(conn, config, existing.id, now)
            log.info("order withdrawn issuer=%s order=%s", safe(issuer.id),
                     safe(loaded["order_id"]))
    return 200, {"order_id": loaded["order_id"], "status": "withdrawn"}
