"""Opening the database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_SECONDS = 10


def storage_unavailable(exc: BaseException) -> bool:
    """True for database errors that mean "not reachable right now" (answer 503, retry later)
    rather than a bug: lost or refused connections, locks held too long, a database that is
    shutting down."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's settings for that database.

    SQLite: every transaction begins with ``BEGIN IMMEDIATE`` so a read-then-write never fails
    half-way on a lock upgrade; WAL lets readers run beside the writer; ``busy_timeout`` makes
    writers queue instead of failing (within one process on a lock, in turn); ``synchronous=FULL``
    so a commit survives power loss.
    PostgreSQL: connections are checked before use (a restarted server costs no request) and
    time out after 10 s unless the URL sets ``connect_timeout``.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        busy_ms = sqlite_busy_timeout_ms(url)
        writers = threading.Lock()
        engine = sa.create_engine(
            url,
            connect_args={"timeout": busy_ms / 1000, "check_same_thread": False,
                          "factory": _queued_connection_class(writers)},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            # The busy timeout first: switching a new file to WAL takes a lock that other
            # processes opening it at the same moment may hold (without the timeout: "database
            # is locked" at once).
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            _journal_mode_wal(cur, busy_ms)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Readers may ask for a deferred BEGIN (execution option ``readonly``) so that
            # listings and reports never queue behind writers.
            if conn.get_execution_options().get("readonly", False):
                conn.exec_driver_sql("BEGIN")
                return
            # This process's writers queue on a lock, in turn, instead of polling SQLite's
            # busy handler (which sleeps up to 100 ms between tries: long tails under load).
            if not writers.acquire(timeout=busy_ms / 1000):
                raise sa.exc.OperationalError(
                    "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
            raw = conn.connection.dbapi_connection
            raw.holds_writer_lock = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                raw.release_writer_lock()
                raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in sa.engine.make_url(url).query:
        # A database host that stops answering must not hang every request for the kernel's
        # TCP timeout (minutes): the request fails after this and is answered 503.
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_SECONDS)
        kwargs["connect_args"] = connect_args
    return sa.create_engine(url, **kwargs)


def _queued_connection_class(writers: threading.Lock) -> type[sqlite3.Connection]:
    """A sqlite3 connection that gives the process's writer lock back once its transaction
    ended: after COMMIT (so the next writer never finds the file still locked), ROLLBACK, or
    close (an invalidated connection)."""

    class QueuedConnection(sqlite3.Connection):
        holds_writer_lock = False

        def release_writer_lock(self) -> None:
            if self.holds_writer_lock:
                self.holds_writer_lock = False
                writers.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.release_writer_lock()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.release_writer_lock()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.release_writer_lock()

    return QueuedConnection


def _journal_mode_wal(cur: Any, busy_ms: int) -> None:
    """``PRAGMA journal_mode=WAL``, tried again while another connection holds the lock it
    needs, for up to the busy timeout (the switch does not always wait on the busy handler)."""
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def sqlite_busy_timeout_ms(url: str) -> int:
    """How long a SQLite writer waits for the lock before the store answers 503: the URL's
    ``?timeout=SECONDS`` (as Python's sqlite3 names it), else 30 s."""
    value = sa.engine.make_url(url).query.get("timeout")
    if isinstance(value, tuple):
        value = value[-1]
    if value is None:
        return SQLITE_BUSY_TIMEOUT_MS
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError("database_url", "timeout= must be a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise ConfigError("database_url", "timeout= must be between 0 and 3600 seconds")
    return int(seconds * 1000)


def init_schema(engine: Engine) -> None:
    """Create the schema, or migrate it to this code's version, under a lock (idempotent; safe
    from several processes at once). Raises ``migrations.SchemaTooNew`` for a newer database."""
    from .migrations import migrate

    migrate(engine)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction that sees one state of the database throughout. SQLite: a deferred
    BEGIN that never waits for writers (WAL); PostgreSQL: a read-only REPEATABLE READ
    snapshot."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(readonly=True)
        else:
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn
