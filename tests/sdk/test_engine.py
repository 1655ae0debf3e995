"""Opening the database: SQLite's busy timeout (how long a writer queues for the lock before the
store answers 503) is 30 s or the URL's ``?timeout=SECONDS``; PostgreSQL connects with a timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hoster_compliance.errors import ConfigError
from hoster_compliance.store.engine import make_engine
from tests.helpers import DATABASES, POSTGRES_URL


@pytest.mark.parametrize(("query", "expected_ms"), [("", 30_000), ("?timeout=0.25", 250)])
def test_sqlite_busy_timeout_comes_from_the_url(
    tmp_path: Path, query: str, expected_ms: int
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hc.db'}{query}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == expected_ms
    finally:
        engine.dispose()


def test_a_writer_past_the_timeout_gets_an_operational_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hc.db'}"
    holder, waiter = make_engine(url), make_engine(url + "?timeout=0")
    try:
        with holder.begin() as conn:  # BEGIN IMMEDIATE: holds the write lock
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            with pytest.raises(sa.exc.OperationalError, match="locked"), waiter.begin():
                pass
    finally:
        holder.dispose()
        waiter.dispose()


@pytest.mark.parametrize("value", ["soon", "-1", "7200"])
def test_a_bad_timeout_is_a_configuration_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="timeout=") as raised:
        make_engine(f"sqlite:///{tmp_path / 'hc.db'}?timeout={value}")
    assert raised.value.key == "database_url"


@pytest.mark.skipif("postgresql" not in DATABASES, reason="PostgreSQL is not available")
@pytest.mark.parametrize(("query", "expected"), [("", "10"), ("?connect_timeout=3", "3")])
def test_postgresql_connections_time_out(query: str, expected: str) -> None:
    engine = make_engine(POSTGRES_URL + query)
    try:
        with engine.connect() as conn:
            dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
    finally:
        engine.dispose()
    assert f"connect_timeout={expected}" in dsn.split()


def test_writers_of_one_process_queue_and_the_lock_is_given_back(tmp_path: Path) -> None:
    """A second writer of the same engine waits for the first (and gets the 503-mapped
    OperationalError past the timeout); commit, rollback and invalidation all hand the turn on."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hc.db'}?timeout=0.1")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            with pytest.raises(sa.exc.OperationalError, match="locked"), engine.begin():
                pass
        for end in ("commit", "rollback", "invalidate"):
            conn = engine.connect()
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            getattr(conn, end)()
            conn.close()
            with engine.begin() as other:  # would time out if the turn were not handed on
                other.exec_driver_sql("INSERT INTO t VALUES (2)")
        with engine.connect().execution_options(readonly=True) as reader, engine.begin():
            # readers take no turn: they read beside a writer
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 4
    finally:
        engine.dispose()
