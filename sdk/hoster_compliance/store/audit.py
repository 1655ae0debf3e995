"""The tamper-evident audit trail: every event carries a SHA-256 over its content and the
previous event's hash, so an edited, inserted or deleted event breaks the chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import pg_insert
from .orders import insert_rows
from .tables import GENESIS_HASH, chain_head, events

# One encoder, built once: json.dumps with options builds a new one on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no white space, UTF-8 kept."""
    return _CANONICAL.encode(value)


def event_hash(
    prev_hash: str, *, order_pk: int | None, at: int, type: str, actor: str, detail: str
) -> str:
    """The hash of one event: over the previous hash and every stored field of the event."""
    content = canonical_json(
        {"prev": prev_hash, "order_pk": order_pk, "at": at, "type": type, "actor": actor,
         "detail": detail}
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditHead:
    """One event's place in the chain: its ``seq`` (the event's id) and hash. The newest one is
    the trail's head; kept elsewhere, it is a witness of everything before it (PROTOCOL 13.4)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """``SEQ:HASH`` as ``audit verify`` prints it; ``ValueError`` otherwise."""
        found = re.fullmatch(r"([0-9]{1,18}):([0-9a-fA-F]{64})", text.strip())
        if found is None:
            raise ValueError("not SEQ:HASH (a number, a colon and 64 hex digits)")
        return cls(int(found.group(1)), found.group(2).lower())


# Built once, run with parameters (hot path: every state change appends an event).
_LOCK_HEAD = sa.select(chain_head.c.hash).where(chain_head.c.id == 1).with_for_update()
_PG_LOCK_HEAD = "SELECT hash FROM chain_head WHERE id = 1 FOR UPDATE"
# The newest id is the largest: every event is inserted while its writer holds the chain
# head, so no other writer's event can come between.
_UPDATE_HEAD_TO_NEWEST = chain_head.update().where(chain_head.c.id == 1).values(
    event_id=sa.select(sa.func.max(events.c.id)).scalar_subquery()
).returning(chain_head.c.event_id)
# The same on PostgreSQL, in the statement that inserts the events (``max_id``: the newest).
_PG_UPDATE_HEAD = ("UPDATE chain_head SET hash = %s, event_id = (SELECT id FROM max_id) "
                   "WHERE id = 1 RETURNING event_id")


def lock_head(conn: Connection) -> str:
    """Lock the chain head until the caller's transaction ends (``FOR UPDATE``; SQLite's
    writers are serialised by ``BEGIN IMMEDIATE`` already); the newest event's hash. A writer
    that decides from the events whether to append one (at most one ``duplicate_delivery`` a
    minute) locks first, so that another writer's decision cannot slip in between."""
    if conn.dialect.driver == "psycopg":
        return str(pg_insert.execute(conn, _PG_LOCK_HEAD, [])[0][0])
    return str(conn.execute(_LOCK_HEAD).scalar_one())


def append_event(
    conn: Connection,
    *,
    order_pk: int | None,
    at: int,
    type: str,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> AuditHead:
    """Append one event to the chain inside the caller's transaction (see
    :func:`append_events`); returns the new head."""
    head = append_events(conn, [event_row(order_pk=order_pk, at=at, type=type, actor=actor,
                                          detail=detail)])
    assert head is not None
    return head


def event_row(
    *, order_pk: int | None, at: int, type: str, actor: str, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An event for :func:`append_events`, not yet chained."""
    return {"order_pk": order_pk, "at": at, "type": type, "actor": actor,
            "detail": canonical_json(detail or {})}


def append_events(conn: Connection, rows: list[dict[str, Any]]) -> AuditHead | None:
    """Append several events (from :func:`event_row`), in order, with one lock of the chain
    head, one insert and one head update; returns the new head (None: nothing appended).
    The head row is locked (``FOR UPDATE``; SQLite writers are already serialised by ``BEGIN
    IMMEDIATE``) until the caller commits, so concurrent writers append one after the other
    and the returned head is still the newest event when the transaction commits. The ids
    increase in list order: SQLite runs an executemany row after row, in order, and PostgreSQL's
    JSON insert is ordered by the rows' positions (``store.orders.insert_rows``)."""
    if not rows:
        return None
    head = lock_head(conn)
    chained = []
    for row in rows:
        digest = event_hash(head, order_pk=row["order_pk"], at=row["at"], type=row["type"],
                            actor=row["actor"], detail=row["detail"])
        chained.append(dict(row, prev_hash=head, hash=digest))
        head = digest
    if conn.dialect.driver == "psycopg":  # the events and the head's update in one statement
        columns = tuple(chained[0])
        sql = pg_insert.insert_then_sql(conn.dialect, events, columns, _PG_UPDATE_HEAD)
        seq = pg_insert.execute(conn, sql, [pg_insert.rows_param(chained), head])[0][0]
    else:
        insert_rows(conn, events, chained)
        seq = conn.execute(_UPDATE_HEAD_TO_NEWEST, {"hash": head}).scalar_one()
    return AuditHead(int(seq), head)


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain breaks: the event id (or None for the head) and what is wrong."""

    event_id: int | None
    problem: str


class ChainWalk:
    """Checks events fed one by one in id order (a stream: nothing is kept but the last hash).

    Each event must follow the one before (``prev_hash``) and match its own hash; ``finish``
    compares the end with the ``chain_head`` row."""

    def __init__(self) -> None:
        self.prev = GENESIS_HASH
        self.count = 0
        self.head: AuditHead | None = None
        self.problems: list[AuditProblem] = []

    def feed(self, rows: Iterable[Any]) -> None:
        """Rows of ``(id, order_pk, at, type, actor, detail, prev_hash, hash)``, in id order."""
        prev, count, last = self.prev, self.count, None
        for event_id, order_pk, at, type_, actor, detail, prev_hash, digest in rows:
            count += 1
            if prev_hash != prev:
                self.problems.append(AuditProblem(
                    event_id,
                    "does not follow the event before it (an event was inserted or deleted "
                    "here)",
                ))
            if event_hash(prev_hash, order_pk=order_pk, at=at, type=type_, actor=actor,
                          detail=detail) != digest:
                self.problems.append(AuditProblem(event_id,
                                                  "content does not match its hash (edited)"))
            prev, last = digest, event_id
        self.prev, self.count = prev, count
        if last is not None:
            self.head = AuditHead(last, prev)

    def finish(self, head_row: Any) -> None:
        """Compare with the ``chain_head`` row (None when the table has no row)."""
        last_id = None if self.head is None else self.head.seq
        if head_row is not None and (head_row.hash != self.prev or head_row.event_id != last_id):
            self.problems.append(AuditProblem(
                head_row.event_id,
                "the newest event recorded is missing or was changed (deleted at the end)",
            ))


def walk_chain(conn: Connection) -> ChainWalk:
    """Walk every event in id order, streamed; the walk holds the count, head and problems."""
    walk = ChainWalk()
    c = events.c
    walk.feed(conn.execute(
        sa.select(c.id, c.order_pk, c.at, c.type, c.actor, c.detail, c.prev_hash, c.hash)
        .order_by(c.id).execution_options(yield_per=5000)))
    walk.finish(conn.execute(sa.select(chain_head).where(chain_head.c.id == 1)).first())
    return walk


def verify_chain(conn: Connection) -> tuple[int, list[AuditProblem]]:
    """Walk every event in id order; return (events checked, problems found)."""
    walk = walk_chain(conn)
    return walk.count, walk.problems


def chain_head_of(conn: Connection) -> dict[str, Any] | None:
    """The newest event's ``{"seq", "hash"}`` (what an issuer or an operator keeps to prove
    later that nothing up to it was rewritten); None while the trail is empty."""
    head = conn.execute(sa.select(chain_head).where(chain_head.c.id == 1)).first()
    if head is None or head.event_id is None:
        return None
    return {"seq": head.event_id, "hash": head.hash}
