"""Schema migrations (store/migrations.py): a version-1 database with data reaches the schema of
tables.py with every row intact; steps are ordered, transactional, run once under concurrency;
a database newer than the code refuses to start. On SQLite and on a dedicated PostgreSQL
database (created empty for each test, so nothing else's tables are seen)."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hoster_compliance.store.audit import event_hash, verify_chain
from hoster_compliance.store.engine import init_schema, make_engine
from hoster_compliance.store.migrations import (
    MIGRATIONS,
    Migration,
    SchemaTooNew,
    SchemaUnknown,
    check_steps,
    migrate,
    read_version,
)
from hoster_compliance.store.schema_v1 import metadata_v1
from hoster_compliance.store.tables import GENESIS_HASH, SCHEMA_VERSION, schema_info
from tests.helpers import DATABASES, ISSUER_SECRET, TOKEN
from tests.helpers.processes import drop_pg_database, recreate_pg_database


@pytest.fixture(params=DATABASES)
def make_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``make_url(name)``: the URL of a new, empty database of the parametrised kind."""
    created: list[str] = []

    def build(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        created.append(f"hc_mig_{name}")
        return recreate_pg_database(created[-1])

    yield build
    for name in created:
        drop_pg_database(name)


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    made: list[Engine] = []

    def build(url: str) -> Engine:
        engine = make_engine(url)
        made.append(engine)
        return engine

    yield build
    for engine in made:
        engine.dispose()


# -- a version-1 database, built from the frozen schema and filled by hand --------------------

V1_ORDER = {
    "id": 1, "issuer_id": "nl-atkm", "order_id": "ord-v1", "kind": "order", "regime": "NL_ATKM",
    "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "subcategory": None,
    "subcategory_other": None, "issuer_member_state": "NL", "trusted_flagger": False,
    "confidential": True, "preserve_for_days": 180, "issued_at": 1_795_000_000_000_000,
    "deadline": 1_795_043_200_000_000, "data": '{"order_id":"ord-v1"}', "status": "open",
    "received_at": 1_795_000_100_000_000, "acknowledged_at": 1_795_000_100_500_000,
    "completed_at": None, "effect_given_at": None, "withdrawn_at": None,
    "withdrawn_reason": None, "items_total": 2, "items_resolved": 1,
    "automation_state": "done", "automation_lease_until": None,
}
V1_ITEMS = [
    {"id": 1, "order_pk": 1, "position": 0, "item_id": "i1", "url": "https://h.example/a.jpg",
     "content_hash_algorithm": "sha256", "content_hash_value": "ab" * 32, "note": "first",
     "action": "removed", "acted_at": 1_795_000_200_000_000, "reason": None, "basis": "law",
     "automated": False, "effect_given": True, "preserve_until": 1_810_552_200_000_000,
     "actor": "operator:1"},
    {"id": 2, "order_pk": 1, "position": 1, "item_id": "i2", "url": "https://h.example/b.jpg",
     "content_hash_algorithm": None, "content_hash_value": None, "note": None, "action": None,
     "acted_at": None, "reason": None, "basis": None, "automated": None, "effect_given": None,
     "preserve_until": None, "actor": None},
]
V1_DELIVERY = {
    "id": 1, "order_pk": 1, "issuer_id": "nl-atkm", "order_id": "ord-v1",
    "type": "order.acknowledged", "path": "/v1/orders/ord-v1/acknowledgement",
    "webhook_id": "msg_v1", "body": '{"type":"order.acknowledged"}', "state": "delivered",
    "attempts": 2, "created_at": 1_795_000_100_000_000, "next_attempt_at": None,
    "lease_until": None, "lease_owner": None, "last_status": 200, "last_error": None,
    "delivered_at": 1_795_000_100_500_000, "give_up_at": 1_795_259_300_000_000,
}


def _v1_events() -> list[dict[str, Any]]:
    rows, prev = [], GENESIS_HASH
    for n, (kind, at) in enumerate((("received", 1_795_000_100_000_000),
                                    ("acknowledged", 1_795_000_100_500_000)), start=1):
        digest = event_hash(prev, order_pk=1, at=at, type=kind, actor="system", detail="{}")
        rows.append({"id": n, "order_pk": 1, "at": at, "type": kind, "actor": "system",
                     "detail": "{}", "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


V1_ROWS = {"orders": [V1_ORDER], "items": V1_ITEMS, "deliveries": [V1_DELIVERY],
           "events": _v1_events()}


def build_v1_database(engine: Engine) -> None:
    """Exactly what the first release created, with one order in every table."""
    md = metadata_v1()
    with engine.begin() as conn:
        md.create_all(conn)
        conn.execute(md.tables["schema_info"].insert().values(id=1, version=1))
        for table, rows in V1_ROWS.items():
            conn.execute(md.tables[table].insert(), rows)
        last = V1_ROWS["events"][-1]
        conn.execute(md.tables["chain_head"].insert().values(
            id=1, hash=last["hash"], event_id=last["id"]))
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        with engine.begin() as conn:
            for table in V1_ROWS:
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))


def assert_v1_rows_intact(engine: Engine) -> None:
    meta = sa.MetaData()
    with warnings.catch_warnings():  # SQLite cannot reflect expression indexes; not needed
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        meta.reflect(engine)
    with engine.connect() as conn:
        for table, rows in V1_ROWS.items():
            got = [dict(r._mapping) for r in conn.execute(
                sa.select(meta.tables[table]).order_by(sa.text("id")))]
            assert [{k: g[k] for k in rows[0]} for g in got] == rows, table
        assert verify_chain(conn) == (2, [])


def _index_definitions(engine: Engine) -> dict[str, str]:
    """Every index's definition as the database keeps it (expression indexes included, which
    SQLAlchemy cannot reflect on SQLite)."""
    query = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
             if engine.dialect.name == "sqlite" else
             "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    with engine.connect() as conn:
        return {name: " ".join(sql.split()) for name, sql in conn.execute(sa.text(query))}


def describe_schema(engine: Engine) -> dict[str, Any]:
    """Everything about the tables a migration must get right, in a comparable form."""
    with warnings.catch_warnings():  # SQLite: expression indexes are compared by definition
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return _describe(engine)


def _describe(engine: Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    described: dict[str, Any] = {"index definitions": _index_definitions(engine)}
    for table in sorted(inspector.get_table_names()):
        described[table] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)},
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"])
                             for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(map(str, i["column_names"])),
                               bool(i["unique"])) for i in inspector.get_indexes(table)),
            "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"]))
                                   for f in inspector.get_foreign_keys(table)),
        }
    return described


def version_of(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return read_version(conn)


# -- the real migrations ----------------------------------------------------------------------

def test_the_steps_lead_from_version_1_to_this_code_one_by_one() -> None:
    check_steps(MIGRATIONS, SCHEMA_VERSION)
    with pytest.raises(ValueError, match="one by one"):
        check_steps([Migration(3, "gap", lambda conn: None)], 3)


def test_version_1_with_data_migrates_to_the_schema_of_tables_py_with_every_row_intact(
    make_url: Callable[[str], str], engines: Callable[[str], Engine]
) -> None:
    old = engines(make_url("old"))
    build_v1_database(old)
    init_schema(old)
    fresh = engines(make_url("fresh"))
    init_schema(fresh)
    assert version_of(old) == version_of(fresh) == SCHEMA_VERSION
    assert describe_schema(old) == describe_schema(fresh), (
        "tables.py differs from the frozen version-1 schema plus MIGRATIONS: add a migration "
        "step (or, before the first release only, update store/schema_v1.py)"
    )
    assert_v1_rows_intact(old)


def test_version_5_gives_existing_deliveries_their_issuer_as_destination(
    make_url: Callable[[str], str], engines: Callable[[str], Engine]
) -> None:
    from hoster_compliance.store.orders import issuer_destination
    from hoster_compliance.store.tables import deliveries

    old = engines(make_url("old"))
    build_v1_database(old)
    init_schema(old)
    with old.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.destination)).scalars().all() == [
            issuer_destination("nl-atkm")] == ["issuer:nl-atkm"]


def test_a_fresh_database_is_created_once_and_later_starts_change_nothing(
    make_url: Callable[[str], str], engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_url("fresh"))
    assert migrate(engine) == 0
    assert migrate(engine) == SCHEMA_VERSION
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT hash, event_id FROM chain_head")).all() == [
            (GENESIS_HASH, None)]
        assert conn.execute(sa.select(schema_info)).all() == [(1, SCHEMA_VERSION)]


# -- the mechanism, with synthetic steps after this code's version -----------------------------

S = SCHEMA_VERSION


def add_column_and_backfill(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE orders ADD COLUMN origin VARCHAR(32)"))
    conn.execute(sa.text("UPDATE orders SET origin = 'issuer:' || issuer_id"))


def copy_into_new_table(conn: Connection) -> None:
    conn.execute(sa.text("CREATE TABLE order_origins (order_pk INTEGER PRIMARY KEY, "
                         "origin VARCHAR(32) NOT NULL)"))
    conn.execute(sa.text("INSERT INTO order_origins SELECT id, origin FROM orders"))


def failing_after_ddl(conn: Connection) -> None:
    conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
    conn.execute(sa.text("UPDATE orders SET status = 'damaged'"))
    raise RuntimeError("step failed half-way")


def steps(*fns: Callable[[Connection], None]) -> list[Migration]:
    return [*MIGRATIONS, *(Migration(S + n, fn.__name__, fn) for n, fn in enumerate(fns, 1))]


@pytest.fixture
def filled(make_url: Callable[[str], str], engines: Callable[[str], Engine]) -> Engine:
    """A database at this code's version holding the version-1 rows."""
    engine = engines(make_url("filled"))
    build_v1_database(engine)
    init_schema(engine)
    return engine


def test_synthetic_steps_run_in_order_and_keep_every_row(filled: Engine) -> None:
    assert migrate(filled, migrations=steps(add_column_and_backfill, copy_into_new_table),
                   target=S + 2) == S
    assert version_of(filled) == S + 2
    with filled.connect() as conn:
        assert conn.execute(sa.text("SELECT order_pk, origin FROM order_origins")).all() == [
            (1, "issuer:nl-atkm")]
    assert_v1_rows_intact(filled)


def test_a_failing_step_rolls_back_entirely_and_a_later_run_resumes_there(
    filled: Engine,
) -> None:
    with pytest.raises(RuntimeError, match="half-way"):
        migrate(filled, migrations=steps(add_column_and_backfill, failing_after_ddl),
                target=S + 2)
    assert version_of(filled) == S + 1  # the first step committed with its version
    assert not sa.inspect(filled).has_table("half_done")  # the failed step's DDL rolled back
    assert_v1_rows_intact(filled)  # ... and its UPDATE
    ran: list[int] = []

    def must_not_run(conn: Connection) -> None:
        ran.append(1)

    migrate(filled, migrations=[*steps(must_not_run), Migration(S + 2, "copy",
                                                                 copy_into_new_table)],
            target=S + 2)
    assert ran == [] and version_of(filled) == S + 2


def test_processes_starting_at_once_migrate_exactly_once(
    filled: Engine, engines: Callable[[str], Engine]
) -> None:
    url = filled.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(4)
    runs: list[str] = []
    errors: list[BaseException] = []

    def slow_step(conn: Connection) -> None:
        runs.append(threading.current_thread().name)
        conn.execute(sa.text("CREATE TABLE migrated_once (x INTEGER)"))
        threading.Event().wait(0.2)  # hold the lock while the others queue on it

    def start(engine: Engine) -> None:
        try:
            barrier.wait(5)
            migrate(engine, migrations=steps(slow_step), target=S + 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engines(url),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(runs) == 1
    assert version_of(filled) == S + 1


def test_processes_creating_an_empty_database_at_once_all_succeed(
    make_url: Callable[[str], str], engines: Callable[[str], Engine]
) -> None:
    url = make_url("empty")
    barrier = threading.Barrier(4)
    results: list[int | BaseException] = []

    def start(engine: Engine) -> None:
        try:
            barrier.wait(5)
            results.append(migrate(engine))
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=start, args=(engines(url),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results, key=str) == [0] + [SCHEMA_VERSION] * 3  # one created it


# -- refusing databases the code does not understand -------------------------------------------

def _set_version(engine: Engine, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(schema_info.update().values(version=version))


def test_a_database_newer_than_the_code_refuses_to_start(filled: Engine) -> None:
    _set_version(filled, S + 1)
    with pytest.raises(SchemaTooNew) as raised:
        init_schema(filled)
    assert raised.value.key == "database_url"
    assert f"version {S + 1}, newer than this release" in raised.value.problem
    assert f"supports ({S})" in raised.value.problem
    assert version_of(filled) == S + 1
    assert_v1_rows_intact(filled)


def _config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "hoster.toml"
    path.write_text(f'''hoster_id = "example-hosting"
database_url = "{url}"
operator_tokens = ["{TOKEN}"]

[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["{ISSUER_SECRET}"]
api_base = "http://127.0.0.1:9"
''')
    return str(path)


@pytest.mark.parametrize("command", [["orders"], ["serve", "--port", "0", "--no-worker"]])
def test_the_cli_refuses_a_newer_database_with_one_line_and_exit_2(
    filled: Engine, tmp_path: Path, command: list[str]
) -> None:
    _set_version(filled, S + 7)
    config = _config(tmp_path, filled.url.render_as_string(hide_password=False))
    done = subprocess.run(
        [sys.executable, "-c", "from hoster_compliance.cli import main; main()",
         command[0], "--config", config, *command[1:]],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"schema is version {S + 7}, newer than this release" in last
    assert "Traceback" not in done.stderr


def test_tables_of_ours_without_a_version_are_not_touched(
    make_url: Callable[[str], str], engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_url("foreign"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, what TEXT)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (1, 'someone else''s')"))
    with pytest.raises(SchemaUnknown, match=r"\(orders\) but no schema_info"):
        init_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT what FROM orders")).scalar() == "someone else's"
    assert not sa.inspect(engine).has_table("items")

