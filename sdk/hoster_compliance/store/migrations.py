"""Schema migrations that never lose data: ordered, transactional steps from version 1 on.

A smaller equivalent of Alembic, defensible because the project owns one linear schema history:

- ``schema_info`` holds one row, the database's schema version. Version 1 is the first released
  schema (frozen in ``store/schema_v1.py``); ``tables.SCHEMA_VERSION`` is what this code writes.
- A fresh database gets the current tables (``tables.metadata``) and ``SCHEMA_VERSION`` in one
  transaction, so a crash during creation leaves nothing half-made.
- An older database runs the missing steps of ``MIGRATIONS`` in order, each in its own
  transaction together with its version bump: a step either happened completely or not at all,
  and a crash between steps resumes at the next one.
- Every pass holds a lock, so several processes starting at once (gunicorn workers, receivers and
  workers on several machines) migrate once: PostgreSQL takes a transaction-scoped advisory lock;
  SQLite's ``BEGIN IMMEDIATE`` (``engine.make_engine``) is the database's write lock. PostgreSQL
  and SQLite both run DDL inside transactions, so a failing step rolls back entirely.
- A database newer than the code refuses to start (``SchemaTooNew``) instead of writing rows an
  old release does not understand.

Writing a step: bump ``SCHEMA_VERSION``, change ``tables.py``, and append
``Migration(N, "what", fn)`` where ``fn(conn)`` takes the schema from N-1 to N without deleting
data (add, copy, backfill; never drop a column that still holds information). Steps must work on
both databases; SQLite ≥ 3.35 has ``ADD``/``RENAME``/``DROP COLUMN``; anything else on SQLite is
the documented rebuild (create new table, copy, drop, rename) inside the step's transaction.
``tests/sdk/test_migrations.py`` checks that version 1 with data migrates to exactly the schema of
``tables.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import ConfigError
from .tables import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    chain_head,
    listing_indexes,
    local_keys,
    metadata,
    schema_info,
)

log = logging.getLogger("hoster_compliance.migrations")

#: PostgreSQL advisory lock key held while migrating ("hcmigr" in ASCII).
ADVISORY_LOCK_KEY = 0x68636D696772

#: The tables of the first released schema, to recognise a database this code created.
V1_TABLES = frozenset({"schema_info", "orders", "items", "deliveries", "events", "chain_head"})


@dataclass(frozen=True)
class Migration:
    """One step: ``apply(conn)`` takes the schema from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _add_local_keys(conn: Connection) -> None:
    local_keys.create(conn)


def _add_listing_indexes(conn: Connection) -> None:
    for index in listing_indexes:
        index.create(conn)


def _add_reinstated(conn: Connection) -> None:
    """Items gain the reinstatement of an earlier action (v1.1 ``reinstated``)."""
    conn.execute(sa.text("ALTER TABLE items ADD COLUMN reinstated_at BIGINT"))
    conn.execute(sa.text("ALTER TABLE items ADD COLUMN reinstated_reason TEXT"))


def _add_delivery_destination(conn: Connection) -> None:
    """deliveries.destination, filled for existing rows as ``issuer:<issuer_id>`` (the rule of
    ``store.orders.issuer_destination`` when this step was written)."""
    if conn.dialect.name == "sqlite":  # ADD COLUMN ... NOT NULL needs a default there
        conn.exec_driver_sql(
            "ALTER TABLE deliveries ADD COLUMN destination VARCHAR(160) NOT NULL DEFAULT ''")
        conn.exec_driver_sql("UPDATE deliveries SET destination = 'issuer:' || issuer_id")
        return
    conn.exec_driver_sql("ALTER TABLE deliveries ADD COLUMN destination VARCHAR(160)")
    conn.exec_driver_sql("UPDATE deliveries SET destination = 'issuer:' || issuer_id")
    conn.exec_driver_sql("ALTER TABLE deliveries ALTER COLUMN destination SET NOT NULL")


def _v6_notices(conn: Connection) -> None:
    """Notices from anyone (PROTOCOL 10): the notifier and the submission key on
    orders, the rate-limit table."""
    for table, column, type_ in (
        ("orders", "notifier_name", "TEXT"), ("orders", "notifier_email", "TEXT"),
        ("orders", "submission_key", "VARCHAR(64)"),
    ):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {type_}"))
    conn.execute(sa.text("CREATE INDEX ix_orders_submission_key ON orders (submission_key)"))
    conn.execute(sa.text(
        'CREATE TABLE rate_limits (client VARCHAR(64) NOT NULL, hour BIGINT NOT NULL, '
        'count INTEGER NOT NULL, PRIMARY KEY (client, hour))'))


def _v7_alerts(conn: Connection) -> None:
    """Alerts (PROTOCOL 9): the time-based schedule and the received hold on orders, alert rows
    in the outbox, and the workers table. Open orders with a deadline get their ``due_soon``
    instant at the default 3/4 of their time (one already past it alerts once)."""
    for table, column, type_ in (
        ("orders", "alert_due_at", "BIGINT"), ("orders", "alert_hold_until", "BIGINT"),
        ("deliveries", "channel", "VARCHAR(64)"), ("deliveries", "alert_key", "VARCHAR(255)"),
    ):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {type_}"))
    conn.execute(sa.text("CREATE INDEX ix_orders_alert_due ON orders (alert_due_at)"))
    conn.execute(sa.text("CREATE INDEX ix_orders_alert_hold ON orders (alert_hold_until)"))
    conn.execute(sa.text(
        "CREATE UNIQUE INDEX ux_deliveries_alert_key ON deliveries (alert_key)"))
    conn.execute(sa.text(
        "CREATE TABLE workers (owner VARCHAR(64) NOT NULL PRIMARY KEY, "
        "role VARCHAR(16) NOT NULL, seen_until BIGINT NOT NULL)"))
    conn.execute(sa.text(
        "UPDATE orders SET alert_due_at = received_at + (deadline - received_at) * 3 / 4 "
        "WHERE status = 'open' AND deadline IS NOT NULL"))


#: Steps after version 1, in order.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "local_keys: keys this installation made (the dashboard's session key)",
              _add_local_keys),
    Migration(3, "indexes for listings deadline first", _add_listing_indexes),
    Migration(4, "items: reinstated_at, reinstated_reason", _add_reinstated),
    Migration(5, "deliveries.destination (one sender per destination)",
              _add_delivery_destination),
    Migration(6, "notices: notifier, submission key, rate limits", _v6_notices),
    Migration(7, "alerts: schedule columns, alert rows in the outbox, workers", _v7_alerts),
)


class SchemaTooNew(ConfigError):
    """The database was migrated by a newer release; this code must not write to it."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            "database_url",
            f"the database schema is version {found}, newer than this release of "
            f"hoster-compliance supports ({supported}); upgrade hoster-compliance",
        )
        self.found = found
        self.supported = supported


class SchemaUnknown(ConfigError):
    """The database holds some of our tables but no version: not ours, or damaged."""

    def __init__(self, tables: Sequence[str]) -> None:
        super().__init__(
            "database_url",
            "the database holds tables named like ours (" + ", ".join(sorted(tables))
            + ") but no schema_info table; refusing to touch it",
        )


def check_steps(migrations: Sequence[Migration], target: int) -> None:
    """The steps must be exactly versions 2..target, in order (a gap would skip a change)."""
    versions = [m.version for m in migrations]
    if versions != list(range(2, target + 1)):
        raise ValueError(f"migration steps {versions} do not lead from 1 to {target} one by one")


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the migration lock until it commits or rolls back."""
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, the write lock
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": ADVISORY_LOCK_KEY})
        yield conn


def read_version(conn: Connection) -> int | None:
    """The database's schema version; None for an empty database."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(schema_info.name):
        ours = [name for name in V1_TABLES if inspector.has_table(name)]
        if ours:
            raise SchemaUnknown(ours)
        return None
    row = conn.execute(sa.select(schema_info.c.version).where(schema_info.c.id == 1)).first()
    # No row: created by the first release, which stamped in a second transaction.
    return 1 if row is None else int(row.version)


def _write_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        schema_info.update().where(schema_info.c.id == 1).values(version=version)
    ).rowcount
    if not updated:
        conn.execute(schema_info.insert().values(id=1, version=version))


def _ensure_chain_head(conn: Connection) -> None:
    if conn.execute(sa.select(chain_head.c.id).where(chain_head.c.id == 1)).first() is None:
        conn.execute(chain_head.insert().values(id=1, hash=GENESIS_HASH, event_id=None))


def migrate(
    engine: Engine,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    target: int = SCHEMA_VERSION,
) -> int:
    """Create or upgrade the schema to ``target``; returns the version found before (0: empty).

    Safe to call from many processes at once and on every start; raises ``SchemaTooNew`` or
    ``SchemaUnknown`` (both ``ConfigError`` on ``database_url``) instead of touching a database
    it does not understand."""
    check_steps(migrations, target)
    steps = {m.version: m for m in migrations}
    before: int | None = None
    while True:
        with _locked(engine) as conn:
            found = read_version(conn)
            if before is None:
                before = found or 0
            if found is None:
                # The current tables, stamped with the version they are; then any later steps.
                metadata.create_all(conn)
                _write_version(conn, SCHEMA_VERSION)
                _ensure_chain_head(conn)
                log.info("database schema created at version %d", SCHEMA_VERSION)
                continue
            if found > target:
                raise SchemaTooNew(found, target)
            if found == target:
                _ensure_chain_head(conn)
                return before
            step = steps[found + 1]
            log.info("migrating the database schema to version %d: %s",
                     step.version, step.description)
            step.apply(conn)
            _write_version(conn, step.version)
