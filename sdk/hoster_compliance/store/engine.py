"""Opening the database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .tables import SCHEMA_VERSION, chain_head, metadata, schema_info

GENESIS_HASH = "0" * 64
SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's settings for that database.

    SQLite: every transaction begins with ``BEGIN IMMEDIATE`` so a read-then-write never fails
    half-way on a lock upgrade; WAL lets readers run beside the writer; ``busy_timeout`` makes
    writers queue instead of failing; ``synchronous=FULL`` so a commit survives power loss.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Readers may ask for a deferred BEGIN (execution option ``readonly``) so that
            # listings and reports never queue behind writers.
            readonly = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def init_schema(engine: Engine) -> None:
    """Create the tables if they are missing and record the schema version (idempotent)."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(sa.select(schema_info.c.version)).first() is None:
            conn.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION))
        if conn.execute(sa.select(chain_head.c.id)).first() is None:
            conn.execute(chain_head.insert().values(id=1, hash=GENESIS_HASH, event_id=None))
