"""The tamper-evident audit trail: every event carries a SHA-256 over its content and the
previous event's hash, so an edited, inserted or deleted event breaks the chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .orders import insert_rows
from .tables import GENESIS_HASH, chain_head, events


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no white space, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    prev_hash: str, *, order_pk: int | None, at: int, type: str, actor: str, detail: str
) -> str:
    """The hash of one event: over the previous hash and every stored field of the event."""
    content = canonical_json(
        {"prev": prev_hash, "order_pk": order_pk, "at": at, "type": type, "actor": actor,
         "detail": detail}
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# Built once, run with parameters (hot path: every state change appends an event).
_LOCK_HEAD = sa.select(chain_head.c.hash).where(chain_head.c.id == 1).with_for_update()
# The newest id is the largest: every event is inserted while its writer holds the chain
# head, so no other writer's event can come between.
_UPDATE_HEAD_TO_NEWEST = chain_head.update().where(chain_head.c.id == 1).values(
    event_id=sa.select(sa.func.max(events.c.id)).scalar_subquery()
)


def append_event(
    conn: Connection,
    *,
    order_pk: int | None,
    at: int,
    type: str,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the chain inside the caller's transaction (see
    :func:`append_events`)."""
    append_events(conn, [event_row(order_pk=order_pk, at=at, type=type, actor=actor,
                                   detail=detail)])


def event_row(
    *, order_pk: int | None, at: int, type: str, actor: str, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An event for :func:`append_events`, not yet chained."""
    return {"order_pk": order_pk, "at": at, "type": type, "actor": actor,
            "detail": canonical_json(detail or {})}


def append_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append several events (from :func:`event_row`), in order, with one lock of the chain
    head, one executemany and one head update. The head row is locked (``FOR UPDATE``;
    SQLite writers are already serialised by ``BEGIN IMMEDIATE``), so concurrent writers
    append one after the other. The ids increase in list order: SQLite and psycopg run an
    executemany row after row, in order."""
    if not rows:
        return
    head = conn.execute(_LOCK_HEAD).scalar_one()
    chained = []
    for row in rows:
        digest = event_hash(head, order_pk=row["order_pk"], at=row["at"], type=row["type"],
                            actor=row["actor"], detail=row["detail"])
        chained.append(dict(row, prev_hash=head, hash=digest))
        head = digest
    insert_rows(conn, events, chained)
    conn.execute(_UPDATE_HEAD_TO_NEWEST, {"hash": head})


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain breaks: the event id (or None for the head) and what is wrong."""

    event_id: int | None
    problem: str


def verify_chain(conn: Connection) -> tuple[int, list[AuditProblem]]:
    """Walk every event in id order; return (events checked, problems found)."""
    problems: list[AuditProblem] = []
    prev = GENESIS_HASH
    count = 0
    last_id: int | None = None
    rows = conn.execution_options(yield_per=5000).execute(
        sa.select(events).order_by(events.c.id)
    )
    for row in rows:
        count += 1
        if row.prev_hash != prev:
            problems.append(AuditProblem(
                row.id,
                "does not follow the event before it (an event was inserted or deleted here)",
            ))
        expected = event_hash(
            row.prev_hash, order_pk=row.order_pk, at=row.at, type=row.type, actor=row.actor,
            detail=row.detail,
        )
        if expected != row.hash:
            problems.append(AuditProblem(row.id, "content does not match its hash (edited)"))
        prev = row.hash
        last_id = row.id
    head = conn.execute(sa.select(chain_head).where(chain_head.c.id == 1)).first()
    if head is not None and (head.hash != prev or head.event_id != last_id):
        problems.append(AuditProblem(
            head.event_id,
            "the newest event recorded is missing or was changed (deleted at the end)",
        ))
    return count, problems


def chain_head_of(conn: Connection) -> dict[str, Any] | None:
    """The newest event's ``{"seq", "hash"}`` (what an issuer or an operator keeps to prove
    later that nothing up to it was rewritten); None while the trail is empty."""
    head = conn.execute(sa.select(chain_head).where(chain_head.c.id == 1)).first()
    if head is None or head.event_id is None:
        return None
    return {"seq": head.event_id, "hash": head.hash}
