"""Receiving a webhook: detect -> verify -> parse -> store, in the order PROTOCOL 2.3 fixes.

Everything here is framework-free; :meth:`ComplianceService.receive` wraps it and turns errors
into the HTTP answer, so every adapter behaves the same."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import categories, regimes, signing
from .config import Config, IssuerConfig
from .errors import (
    Conflict,
    InvalidJson,
    PayloadTooLarge,
    UnknownIssuer,
    UnknownOrder,
    UnsupportedMediaType,
)
from .store import orders as store
from .store.audit import append_event, canonical_json
from .store.tables import orders
from .timeutil import format_micros, format_time, to_micros

log = logging.getLogger("hoster_compliance.intake")

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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity; anything else is ``invalid_json``."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidJson("The body is not valid UTF-8 JSON.") from exc


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
    )
    return issuer, webhook_id


def store_order(
    engine: Engine,
    config: Config,
    issuer: IssuerConfig,
    data: dict[str, Any],
    loaded: dict[str, Any],
    now: datetime,
) -> Response:
    """Store a new order with its acknowledgement in one transaction, or recognise a redelivery."""
    # Insert first: a new order (the common case) costs no lookup. The unique constraint on
    # (issuer_id, order_id) turns a redelivery, or a concurrent twin, into an IntegrityError;
    # then the second attempt looks the stored order up and compares.
    try:
        with engine.begin() as conn:
            return _insert(conn, config, issuer, data, loaded, now)
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as conn:
        existing = store.find_order(conn, issuer.id, loaded["order_id"])
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError("order vanished after a unique-constraint conflict")
        return _redelivery(conn, existing, data, now)


def _redelivery(
    conn: sa.Connection, existing: Any, data: dict[str, Any], now: datetime
) -> Response:
    if json.loads(existing.data) != data:
        raise Conflict("An order with this order_id was already received with different data.")
    append_event(
        conn, order_pk=existing.id, at=to_micros(now), type="duplicate_delivery",
        actor=f"issuer:{existing.issuer_id}",
    )
    return 200, {
        "order_id": existing.order_id,
        "status": existing.status,
        "received_at": format_micros(existing.received_at),
        "deadline": format_micros(existing.deadline),
        "duplicate": True,
    }


def _insert(
    conn: sa.Connection,
    config: Config,
    issuer: IssuerConfig,
    data: dict[str, Any],
    loaded: dict[str, Any],
    now: datetime,
) -> Response:
    kind = loaded["kind"]
    regime = regimes.resolve_regime(loaded.get("regime"), issuer.default_regime)
    deadline = regimes.compute_deadline(regime, now, loaded.get("deadline"))
    category = loaded.get("category") or (
        categories.NOT_SPECIFIED_ORDER if kind == "order" else categories.NOT_SPECIFIED_NOTICE
    )
    received = to_micros(now)
    values = {
        "issuer_id": issuer.id,
        "order_id": loaded["order_id"],
        "kind": kind,
        "regime": regime,
        "category": category,
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
        "received_at": received,
        "items_total": len(loaded["items"]),
        "items_resolved": 0,
        "automation_state": "pending",
    }
    item_rows = [
        {
            "item_id": item["item_id"],
            "url": item["url"],
            "content_hash_algorithm": (item.get("content_hash") or {}).get("algorithm"),
            "content_hash_value": (item.get("content_hash") or {}).get("value"),
            "note": item.get("note"),
        }
        for item in loaded["items"]
    ]
    order_pk = store.insert_order(conn, values, item_rows)
    received_text = format_time(now)
    ack = {
        "type": "order.acknowledged",
        "timestamp": received_text,
        "data": {"order_id": loaded["order_id"], "hoster_id": config.hoster_id,
                 "received_at": received_text},
    }
    store.enqueue_delivery(
        conn, order_pk=order_pk, issuer_id=issuer.id, order_id=loaded["order_id"],
        type="order.acknowledged", path=callback_path(loaded["order_id"], "acknowledgement"),
        body=ack, now=received,
    )
    append_event(
        conn, order_pk=order_pk, at=received, type="received", actor=f"issuer:{issuer.id}",
        detail={"kind": kind, "regime": regime, "items": len(item_rows),
                "deadline": format_micros(values["deadline"])},
    )
    log.info(
        "order received issuer=%s order=%s kind=%s regime=%s items=%d deadline=%s",
        issuer.id, loaded["order_id"], kind, regime, len(item_rows),
        format_micros(values["deadline"]),
    )
    return 201, {
        "order_id": loaded["order_id"],
        "status": "open",
        "received_at": received_text,
        "deadline": format_micros(values["deadline"]),
        "duplicate": False,
    }


def withdraw_order(
    engine: Engine, issuer: IssuerConfig, loaded: dict[str, Any], now: datetime
) -> Response:
    """Mark an order withdrawn; nothing recorded is deleted, queued callbacks stay queued."""
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
            log.info("order withdrawn issuer=%s order=%s", issuer.id, loaded["order_id"])
    return 200, {"order_id": loaded["order_id"], "status": "withdrawn"}


def callback_path(order_id: str, what: str) -> str:
    return f"/v1/orders/{quote(order_id, safe='')}/{what}"

