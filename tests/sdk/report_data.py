"""Test data for the transparency report: the ``report_engine`` fixture and ``add_order``, which
inserts an order or notice with the columns the service would have filled."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hoster_compliance.store.engine import init_schema, make_engine
from hoster_compliance.store.tables import items, orders
from hoster_compliance.timeutil import to_micros

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path("/work/shared/reference/dsa-transparency-templates")
EFFECT_ACTIONS = {"removed", "disabled", "geo_blocked"}
US_PER_HOUR = 3_600_000_000

@pytest.fixture
def report_engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with the schema created (``db_url`` of tests/conftest.py:
    a SQLite file, and PostgreSQL when it answers)."""
    engine = make_engine(db_url)
    init_schema(engine)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class It:
    """One item: its action (None: not acted on) ``after`` hours from receipt."""

    action: str | None = None
    after: float | None = None
    basis: str = "law"
    automated: bool = False


def at(hours: float) -> timedelta:
    return timedelta(microseconds=round(hours * US_PER_HOUR))


_serial = itertools.count(1)


def add_order(
    engine: Engine,
    received: datetime,
    *,
    kind: str = "order",
    ms: str = "NL",
    category: str | None = None,
    subcategory: str | None = None,
    other: str | None = None,
    tf: bool = False,
    deadline_h: float | None = 24.0,
    ack_h: float | None = 0.01,
    items_: Sequence[It] = (It("removed", 1.0),),
    withdrawn_h: float | None = None,
) -> int:
    """Insert one order (or notice) with its items; status, completed_at and effect_given_at are
    derived as the service derives them (PROTOCOL 6). Times are hours after ``received``."""
    if category is None:
        category = f"STATEMENT_CATEGORY_NOT_SPECIFIED_{kind.upper()}"
    acted = [received + at(i.after) for i in items_ if i.action is not None]
    all_acted = len(acted) == len(items_)
    effect = [
        received + at(i.after) for i in items_ if i.action in EFFECT_ACTIONS
    ]
    completed_at = max(acted) if all_acted else None
    effect_at = max(effect) if all_acted and effect else None
    status = "withdrawn" if withdrawn_h is not None else "completed" if all_acted else "open"

    def us(value: datetime | None) -> int | None:
        return None if value is None else to_micros(value)

    number = next(_serial)
    with engine.begin() as conn:
        pk = conn.execute(
            orders.insert().values(
                issuer_id="issuer",
                order_id=f"o-{number}",
                kind=kind,
                regime="OTHER" if deadline_h is None else "EU_DSA_ART9",
                category=category,
                subcategory=subcategory,
                subcategory_other=other,
                issuer_member_state=ms,
                trusted_flagger=tf,
                confidential=False,
                issued_at=us(received),
                deadline=None if deadline_h is None else us(received + at(deadline_h)),
                data="{}",
                status=status,
                received_at=us(received),
                acknowledged_at=None if ack_h is None else us(received + at(ack_h)),
                completed_at=us(completed_at),
                effect_given_at=us(effect_at),
                withdrawn_at=None if withdrawn_h is None else us(received + at(withdrawn_h)),
                items_total=len(items_),
                items_resolved=len(acted),
            )
        ).inserted_primary_key[0]
        for position, item in enumerate(items_):
            done = item.action is not None
            conn.execute(
                items.insert().values(
                    order_pk=pk,
                    position=position,
                    item_id=f"i{position}",
                    url=f"https://files.example/{number}/{position}",
                    action=item.action,
                    acted_at=us(received + at(item.after)) if done else None,
                    basis=item.basis if done else None,
                    automated=item.automated if done else None,
                    effect_given=(item.action in EFFECT_ACTIONS) if done else None,
                )
            )
    return int(pk)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load_generator() -> ModuleType:
    """bench/generate.py, imported by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def count_rows(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
