"""Test data for the transparency report (the ``report_engine`` fixture is in tests/conftest.py):
``add_order``, which inserts an order or notice with the columns the service would have filled."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hoster_compliance.store.tables import items, orders
from hoster_compliance.timeutil import to_micros
from tests.helpers import ROOT

EFFECT_ACTIONS = {"removed", "disabled", "geo_blocked"}
US_PER_HOUR = 3_600_000_000

@dataclass(frozen=True)
class It:
    """One item: its action (None: not acted on) ``after`` hours from receipt."""

    action: str | None = None
    after: float | None = None
    basis: str = "law"
    automated: bool = False


def at(hours: float) -> timedelta:
    return timedelta(microseconds=round(hours * US_PER_HOUR))


MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
CSAM = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
TERRORISM = "KEYWORD_TERRORIST_CONTENT"
SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
IP = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
SCAMS = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
NOT_SPECIFIED_ORDER = "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"
NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
T = datetime(2026, 3, 1, 12, tzinfo=UTC)

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


def seed_orders(engine: Engine) -> None:
    """Eight orders from NL and DE; the expected figures are worked out in the tests."""
    # NL 1: acknowledged 0.1 h, effect at 2 h, deadline 12 h: within.
    add_order(engine, T, category=MINORS, subcategory=CSAM, ack_h=0.1, deadline_h=12,
              items_=[It("removed", 2)])
    # NL 2: effect at 1 h (the last effect-giving action), last action at 5 h: within.
    add_order(engine, T, category=MINORS, subcategory=CSAM, ack_h=0.3, deadline_h=12,
              items_=[It("removed", 1), It("not_found", 5)])
    # NL 3: no sub-category; effect at 20 h after a 12 h deadline: overdue.
    add_order(engine, T, category=MINORS, ack_h=0.2, deadline_h=12, items_=[It("removed", 20)])
    # NL 4: never acknowledged; no effect given, last action at 3 h: within, not in the medians.
    add_order(engine, T, category=NOT_SPECIFIED_ORDER, ack_h=None, deadline_h=12,
              items_=[It("not_found", 3)])
    # DE 5: terrorist content, effect at 0.75 h, deadline 1 h: within.
    add_order(engine, T, ms="DE", category=SECURITY, subcategory=TERRORISM, ack_h=0.5,
              deadline_h=1, items_=[It("removed", 0.5), It("removed", 0.75)])
    # DE 6: withdrawn while open past its deadline: received and acknowledged, nothing else.
    add_order(engine, T, ms="DE", category=SECURITY, subcategory=TERRORISM, ack_h=0.4,
              deadline_h=0.5, items_=[It(), It()], withdrawn_h=0.6)
    # DE 7: no deadline, still open: neither within nor overdue.
    add_order(engine, T, ms="DE", category=SPEECH, subcategory="KEYWORD_OTHER",
              other="Holocaust denial", ack_h=0.25, deadline_h=None, items_=[It()])
    # DE 8: open, deadline 24 h after a receipt late on 31 December: due after the report's end.
    add_order(engine, utc(2026, 12, 31, 23), ms="DE", category=SPEECH,
              subcategory="KEYWORD_HATE_SPEECH", ack_h=0.15, deadline_h=24, items_=[It()])


def seed_notices(engine: Engine) -> None:
    """Six notices, three from trusted flaggers; the expected figures are in the tests."""
    def notice(**kw: Any) -> None:
        add_order(engine, T, kind="notice", deadline_h=None, **kw)

    # N1: two terms-based actions (one automated); effect at 4 h.
    notice(category=IP, subcategory="KEYWORD_COPYRIGHT_INFRINGEMENT",
           items_=[It("removed", 2, "terms", True), It("disabled", 4, "terms")])
    # N2: trusted flagger, one automated action on the law; effect at 1 h.
    notice(category=IP, subcategory="KEYWORD_COPYRIGHT_INFRINGEMENT", tf=True,
           items_=[It("removed", 1, "law", True)])
    # N3: trusted flagger, no sub-category; a refusal (no effect) and a removal at 6 h.
    notice(category=IP, tf=True, items_=[It("refused", 3), It("removed", 6)])
    # N4: nothing found: no effect, left out of the median.
    notice(items_=[It("not_found", 1)])
    # N5: trusted flagger, withdrawn after one removal: counted, its action too; no median.
    notice(category=SCAMS, subcategory="KEYWORD_PHISHING", tf=True,
           items_=[It("removed", 0.5), It()], withdrawn_h=1)
    # N6: Other with a description; effect at 10 h; one automated geo-block.
    notice(category=SCAMS, subcategory="KEYWORD_OTHER", other="Fake shop",
           items_=[It("removed", 8), It("geo_blocked", 10, "law", True)])
