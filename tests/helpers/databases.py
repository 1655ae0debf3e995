"""Emptying the session's PostgreSQL database between tests, fast: a database whose schema is
exactly as a fresh one is emptied row by row and its sequences restarted, instead of dropping
and creating every table (which cost about half a second per test; TRUNCATE costs most of that
too). Anything else (a schema a test changed, migrated or stamped with another version) is
dropped and created afresh, as before."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hoster_compliance.store.engine import init_schema, make_engine
from hoster_compliance.store.tables import metadata

#: The version stamp stays; every other table is emptied.
_KEPT = "schema_info"

#: What the schema of a database made fresh in this session looks like, by URL.
_fresh: dict[str, str] = {}

#: The schema in one text, from the catalog: every relation of ``public`` (tables, indexes,
#: sequences, views) with its columns, types and defaults; indexes; constraints; triggers;
#: functions.
_DESCRIBE = sa.text("""
SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
  SELECT concat_ws(' ', c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS line
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT concat_ws(' ', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(' ', tgrelid::regclass, tgname)
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
) AS schema
""")


def _schema(conn: Connection) -> str:
    """The schema and, when there is one, the version stamped in it."""
    described = conn.execute(_DESCRIBE).scalar_one() or ""
    if conn.execute(sa.text(f"SELECT to_regclass('public.{_KEPT}')")).scalar_one() is not None:
        described += "\n" + repr(conn.execute(sa.text(f"SELECT * FROM {_KEPT}")).all())
    return described


def empty_postgres(url: str) -> None:
    """Leave the database at ``url`` as a freshly created schema with no rows: the state
    ``init_schema`` makes of an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            as_fresh = url in _fresh and _schema(conn) == _fresh[url]
        if as_fresh:
            with engine.begin() as conn:
                for table in reversed(metadata.sorted_tables):
                    if table.name != _KEPT:
                        conn.execute(table.delete())
                conn.execute(sa.text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S'"))
        else:
            metadata.drop_all(engine)
            init_schema(engine)
            with engine.connect() as conn:
                _fresh[url] = _schema(conn)
        init_schema(engine)  # the audit chain's head row, as a new schema has it
    finally:
        engine.dispose()


def copy_rows(url: str) -> dict[str, list[dict[str, object]]]:
    """Every row of every table but the version stamp, by table (``restore_rows`` puts them
    back): a seeded database, built once, copied for each test that tampers with it."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {table.name: [dict(row._mapping) for row in conn.execute(sa.select(table))]
                    for table in metadata.sorted_tables if table.name != _KEPT}
    finally:
        engine.dispose()


def restore_rows(url: str, rows: dict[str, list[dict[str, object]]]) -> None:
    """Make the PostgreSQL database at ``url`` (a fresh schema, ``empty_postgres``) hold exactly
    ``rows`` (from ``copy_rows``), ids included, with its sequences past them, as if the code
    had written them there."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name != _KEPT:
                    conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if rows.get(table.name):
                    conn.execute(table.insert(), rows[table.name])
                    for column in table.primary_key.columns:
                        if column.autoincrement is True or (
                                column.autoincrement == "auto" and isinstance(column.type,
                                                                              sa.Integer)):
                            conn.execute(sa.text(
                                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                                f"(SELECT max({column.name}) FROM {table.name}))"),
                                {"t": table.name, "c": column.name})
    finally:
        engine.dispose()
