"""A synthetic year of orders and notices for the report benchmark (and, small, for the tests).

Reproducible (seeded), fast (batched executemany; raw sqlite3 with journalling off for SQLite),
and shaped like a hoster's year: Poisson arrivals from ten days before the year to ten days after
it, several Member States and categories, regimes with 1 h / 12 h / 24 h / no deadline, ~3 items
per order, automated acknowledgements (some late, some never), lognormal handling times (some
overdue), ~20 % notices (~30 % of them from trusted flaggers, law or terms), ~1 % withdrawn,
``KEYWORD_OTHER`` with texts, missing sub-categories, and orders still open at the end.

    python bench/generate.py --orders 1000000 --out bench/out/report-1000000.db
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hoster_compliance.report.layout import category_layout
from hoster_compliance.store.engine import init_schema, make_engine
from hoster_compliance.store.tables import deliveries, events, items, orders
from hoster_compliance.timeutil import format_micros

HOUR = 3_600_000_000
SECOND = 1_000_000
STATES = [("NL", 45), ("DE", 20), ("FR", 10), ("BE", 8), ("EL", 5), ("IT", 5), ("ES", 4),
          ("AT", 3)]
ORDER_REGIMES = [("EU_TCO", 1, 10), ("NL_ATKM", 12, 35), ("EU_DSA_ART9", 24, 40),
                 ("OTHER", None, 15)]
NOTICE_REGIMES = [("NL_NTD", 24, 60), ("OTHER", None, 40)]
HEAVY = {  # categories that dominate a hoster's orders and notices
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": 30,
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": 10,
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": 15,
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": 10,
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": 8,
}
OTHER_TEXTS = ["Doxing", "Fake shop", "Holocaust denial", "Counterfeit medicines",
               "Glorification of crimes"]
ACTIONS = [("removed", 70), ("disabled", 10), ("geo_blocked", 5), ("not_found", 10),
           ("not_hosted", 3), ("refused", 2)]
EFFECT = {"removed", "disabled", "geo_blocked"}
ITEM_COUNTS = [(1, 30), (2, 20), (3, 15), (4, 12), (5, 9), (6, 6), (7, 4), (8, 4)]  # mean ~3

# The columns the service fills on receipt and on actions; any others keep their NULL default.
ORDER_COLUMNS = [
    "id", "issuer_id", "order_id", "kind", "regime", "category", "subcategory",
    "subcategory_other", "issuer_member_state", "trusted_flagger", "confidential",
    "preserve_for_days", "issued_at", "deadline", "data", "status", "received_at",
    "acknowledged_at", "completed_at", "effect_given_at", "withdrawn_at", "withdrawn_reason",
    "items_total", "items_resolved",
]
ITEM_COLUMNS = [
    "id", "order_pk", "position", "item_id", "url", "content_hash_algorithm",
    "content_hash_value", "note", "action", "acted_at", "reason", "basis", "automated",
    "effect_given", "preserve_until", "actor", "reinstated_at", "reinstated_reason",
]
EVENT_COLUMNS = ["id", "order_pk", "at", "type", "actor", "detail", "prev_hash", "hash"]
DELIVERY_COLUMNS = [
    "id", "order_pk", "issuer_id", "order_id", "type", "path", "webhook_id", "body", "state",
    "attempts", "created_at", "next_attempt_at", "last_status", "delivered_at", "give_up_at",
]
CSAM = ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL")


def _weighted(pairs: list[tuple[Any, int]]) -> list[Any]:
    return [value for value, weight in pairs for _ in range(weight)]


class _Maker:
    """Draws one order at a time; state: the arrival clock and the row ids."""

    def __init__(self, count: int, year: int, seed: int, own_share: float = 0.0) -> None:
        self.rng = random.Random(seed)
        # Own-initiative entries (hash-check scans) relabel a share of notices with draws of
        # their own, so that the other rows stay the same with or without them.
        self.own_rng = random.Random(seed + 1)
        self.own_share = own_share
        start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) * SECOND - 10 * 24 * HOUR
        self.end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()) * SECOND + 10 * 24 * HOUR
        self.clock = start
        self.mean_gap = (self.end - start) / max(count, 1)
        self.states = _weighted(STATES)
        self.order_regimes = _weighted([((r, d), w) for r, d, w in ORDER_REGIMES])
        self.notice_regimes = _weighted([((r, d), w) for r, d, w in NOTICE_REGIMES])
        self.actions = _weighted(ACTIONS)
        self.item_counts = _weighted(ITEM_COUNTS)
        self.categories = {kind: self._category_choices(kind) for kind in ("order", "notice")}
        self.order_pk = 0
        self.item_pk = 0

    @staticmethod
    def _category_choices(kind: str) -> list[tuple[str, tuple[str, ...]]]:
        layout = category_layout(kind)
        return _weighted([((c, subs), HEAVY.get(c, 2)) for c, subs in layout.items()])

    def _category(self, kind: str) -> tuple[str, str | None, str | None]:
        rng = self.rng
        category, subs = rng.choice(self.categories[kind])
        if not subs:
            return category, None, None
        roll = rng.random()
        if roll < 0.05:
            return category, None, None
        if roll < 0.08:
            return category, "KEYWORD_OTHER", rng.choice(OTHER_TEXTS)
        named = [s for s in subs if s != "KEYWORD_OTHER"]
        return category, rng.choice(named), None

    def order(self) -> tuple[tuple, list[tuple]]:
        rng = self.rng
        self.order_pk += 1
        pk = self.order_pk
        self.clock += int(rng.expovariate(1.0) * self.mean_gap) + 1
        received = self.clock
        kind = "notice" if rng.random() < 0.2 else "order"
        ms = rng.choice(self.states)
        regime, deadline_h = rng.choice(self.notice_regimes if kind == "notice"
                                        else self.order_regimes)
        deadline = None if deadline_h is None else received + deadline_h * HOUR
        category, sub, other = self._category(kind)
        roll = rng.random()
        if roll < 0.97:
            ack = received + int(rng.lognormvariate(0.0, 1.0) * SECOND)
        elif roll < 0.99:
            ack = received + int(rng.expovariate(1.0) * 2 * HOUR)
        else:
            ack = None
        typical_h = {None: 24.0, 1: 0.4, 12: 3.0, 24: 6.0}[deadline_h]
        start = received + int(rng.lognormvariate(math.log(typical_h), 1.0) * HOUR)
        stuck = rng.random() < 0.005  # forgotten: never acted on
        withdrawn = None
        if rng.random() < 0.01:
            withdrawn = received + int(rng.uniform(0.1, 48) * HOUR)
        basis_terms = kind == "notice" and rng.random() < 0.45
        p_auto = 0.25 if kind == "notice" else 0.05
        n_items = rng.choice(self.item_counts)
        item_rows, acted, effect = [], [], []
        for position in range(n_items):
            self.item_pk += 1
            at = start + int(rng.uniform(0, 120) * SECOND) * position
            done = not stuck and at <= self.end and (withdrawn is None or at < withdrawn)
            action = rng.choice(self.actions) if done else None
            if done:
                acted.append(at)
                if action in EFFECT:
                    effect.append(at)
            auto = done and rng.random() < p_auto
            h = rng.getrandbits(256)
            item_rows.append((
                self.item_pk, pk, position, f"i{position}",
                f"https://files.example-hosting.nl/u/{pk % 99991}/{pk:x}-{position}.jpg",
                "sha256" if h & 1 else None, f"{h:064x}" if h & 1 else None, None,
                action, at if done else None,
                "Manifest error in the order." if action == "refused" else None,
                ("terms" if basis_terms else "law") if done else None,
                auto if done else None,
                (action in EFFECT) if done else None, None,
                "operator" if done else None, None, None,
            ))
        own = kind == "notice" and self.own_share and self.own_rng.random() < self.own_share
        if own:
            kind, regime, deadline = "own_initiative", "OTHER", received + HOUR
            category, sub, other = (*CSAM, None)
            item_rows = [self._own_item(r) for r in item_rows]
        all_done = len(acted) == n_items
        status = "withdrawn" if withdrawn is not None else "completed" if all_done else "open"
        completed = max(acted) if all_done else None
        effect_at = max(effect) if all_done and effect else None
        data = json.dumps({
            "category": category, "deadline": format_micros(deadline),
            "issued_at": format_micros(received - 30 * SECOND),
            "items": [{"item_id": r[3], "url": r[4]} for r in item_rows], "kind": kind,
            "legal_basis": "Art. 9 DSA; national law", "order_id": f"o-{pk:08d}",
            "statement_of_reasons": "The content is manifestly illegal under the cited law.",
        }, sort_keys=True, separators=(",", ":"))
        tf = kind in ("notice", "own_initiative") and rng.random() < 0.3 and kind == "notice"
        issuer = {"notice": f"hotline-{ms.lower()}", "order": f"authority-{ms.lower()}"}.get(
            kind, "self")
        order_row = (
            pk, issuer, f"o-{pk:08d}",
            kind, regime, category, sub, other, ms, tf, False, None,
            received - 30 * SECOND, deadline, data, status, received,
            None if ack is None else max(ack, received), completed, effect_at, withdrawn,
            "Withdrawn by the issuer." if withdrawn is not None else None, n_items, len(acted),
        )
        return order_row, item_rows

    def _own_item(self, row: tuple) -> tuple:
        """An own-initiative item: a hash match, mostly acted on by automation, ~5 % of those
        that gave effect later reinstated."""
        values = list(row)
        columns = {name: n for n, name in enumerate(ITEM_COLUMNS)}
        values[columns["content_hash_algorithm"]] = "sha1"
        values[columns["content_hash_value"]] = f"{self.own_rng.getrandbits(160):040x}"
        values[columns["note"]] = "hash list known.txt"
        values[columns["basis"]] = "law" if values[columns["action"]] else None
        if values[columns["action"]] is not None:
            values[columns["automated"]] = self.own_rng.random() < 0.9
            if values[columns["effect_given"]] and self.own_rng.random() < 0.05:
                values[columns["reinstated_at"]] = values[columns["acted_at"]] + HOUR
                values[columns["reinstated_reason"]] = "a stock image, not known material"
        return tuple(values)

class _Trail:
    """The events and callbacks an order leaves (``--trail``): received, acknowledged, one
    action per item, completed; an acknowledgement and an outcome delivery. The hashes are
    placeholders, not a chain: for read benchmarks (order pages), not for ``audit verify``."""

    def __init__(self) -> None:
        self.event_pk = 0
        self.delivery_pk = 0

    def rows(self, order: tuple, item_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
        o = dict(zip(ORDER_COLUMNS, order, strict=True))
        pk, received = o["id"], o["received_at"]
        found: list[tuple[int, str, str, dict[str, Any]]] = [
            (received, "received", f"issuer:{o['issuer_id']}",
             {"deadline": o["deadline"], "items": o["items_total"], "kind": o["kind"]})]
        deliveries = [(received, "order.acknowledged", o["acknowledged_at"])]
        if o["acknowledged_at"] is not None:
            found.append((o["acknowledged_at"], "acknowledged", "system:outbox",
                          {"status": 200}))
        for item in item_rows:
            i = dict(zip(ITEM_COLUMNS, item, strict=True))
            if i["action"] is not None:
                found.append((i["acted_at"], "action", "operator:0000abcd",
                              {"action": i["action"], "item_id": i["item_id"]}))
        if o["completed_at"] is not None:
            found.append((o["completed_at"], "completed", "operator:0000abcd", {}))
            deliveries.append((o["completed_at"], "order.outcome", o["completed_at"] + SECOND))
        events = []
        for at, kind, actor, detail in found:
            self.event_pk += 1
            events.append((self.event_pk, pk, at, kind, actor,
                           json.dumps(detail, sort_keys=True), "0" * 64, f"{self.event_pk:064x}"))
        sent = []
        for created, kind, delivered in deliveries:
            self.delivery_pk += 1
            path = "acknowledgement" if kind == "order.acknowledged" else "outcome"
            sent.append((
                self.delivery_pk, pk, o["issuer_id"], o["order_id"], kind,
                f"/v1/orders/{o['order_id']}/{path}", f"msg_{self.delivery_pk:024x}", "{}",
                "delivered" if delivered is not None else "pending", 1, created,
                None if delivered is not None else created, 200 if delivered else None,
                delivered, created + 72 * HOUR,
            ))
        return events, sent


def rows(count: int, year: int = 2026, seed: int = 1,
         own_share: float = 0.0) -> Iterator[tuple[tuple, list[tuple]]]:
    """``count`` (order row, item rows) pairs in ORDER_COLUMNS / ITEM_COLUMNS order, ids from 1;
    ``own_share``: the share of notices turned into own-initiative entries."""
    maker = _Maker(count, year, seed, own_share)
    for _ in range(count):
        yield maker.order()


def generate(
    url: str,
    count: int,
    *,
    year: int = 2026,
    seed: int = 1,
    batch: int = 20_000,
    progress: Callable[[str], None] | None = None,
    trail: bool = False,
    own_share: float = 0.0,
) -> int:
    """Fill the (empty) database at ``url`` with ``count`` orders; returns the number of items.
    ``trail``: also each order's events and deliveries (see ``_Trail``)."""
    engine = make_engine(url)
    init_schema(engine)
    sqlite_path = engine.url.database if engine.dialect.name == "sqlite" else None
    engine.dispose()
    if sqlite_path:
        raw = sqlite3.connect(sqlite_path, isolation_level=None)
        raw.execute("PRAGMA journal_mode=OFF")
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA cache_size=-200000")

        def write(order_batch: list[tuple], item_batch: list[tuple], event_batch: list[tuple],
                  delivery_batch: list[tuple]) -> None:
            raw.execute("BEGIN")
            raw.executemany(_insert_sql("orders", ORDER_COLUMNS), order_batch)
            raw.executemany(_insert_sql("items", ITEM_COLUMNS), item_batch)
            raw.executemany(_insert_sql("events", EVENT_COLUMNS), event_batch)
            raw.executemany(_insert_sql("deliveries", DELIVERY_COLUMNS), delivery_batch)
            raw.execute("COMMIT")
    else:
        engine = make_engine(url)

        def write(order_batch: list[tuple], item_batch: list[tuple], event_batch: list[tuple],
                  delivery_batch: list[tuple]) -> None:
            with engine.begin() as conn:
                for table, columns, batch_rows in (
                        (orders, ORDER_COLUMNS, order_batch), (items, ITEM_COLUMNS, item_batch),
                        (events, EVENT_COLUMNS, event_batch),
                        (deliveries, DELIVERY_COLUMNS, delivery_batch)):
                    if batch_rows:
                        conn.execute(table.insert(), [dict(zip(columns, r, strict=True))
                                                      for r in batch_rows])

    started = time.monotonic()
    order_batch: list[tuple] = []
    item_batch: list[tuple] = []
    event_batch: list[tuple] = []
    delivery_batch: list[tuple] = []
    total_items = 0
    trails = _Trail()
    for done, (order_row, item_rows) in enumerate(rows(count, year, seed, own_share), 1):
        order_batch.append(order_row)
        item_batch.extend(item_rows)
        if trail:
            order_events, order_deliveries = trails.rows(order_row, item_rows)
            event_batch.extend(order_events)
            delivery_batch.extend(order_deliveries)
        if len(order_batch) >= batch or done == count:
            write(order_batch, item_batch, event_batch, delivery_batch)
            total_items += len(item_batch)
            order_batch, item_batch, event_batch, delivery_batch = [], [], [], []
            if progress:
                progress(f"{done:>9,} orders {total_items:>10,} items "
                         f"{time.monotonic() - started:6.1f} s")
    if sqlite_path:
        raw.execute("ANALYZE")
        raw.close()
    else:
        engine.dispose()
    return total_items


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, help="SQLite file to create")
    parser.add_argument("--url", help="or an empty database to fill (postgresql://...)")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trail", action="store_true",
                        help="also write each order's events and deliveries")
    parser.add_argument("--own-initiative-share", type=float, default=0.0,
                        help="share of notices turned into own-initiative entries")
    args = parser.parse_args(argv)
    if args.url:
        generate(args.url, args.orders, year=args.year, seed=args.seed,
                 own_share=args.own_initiative_share,
                 progress=lambda line: print(line, flush=True))
        return 0
    if args.out is None:
        parser.error("give --out or --url")
    if args.out.exists():
        print(f"{args.out} exists; remove it first", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".part")
    partial.unlink(missing_ok=True)
    generate(f"sqlite:///{partial}", args.orders, year=args.year, seed=args.seed,
             own_share=args.own_initiative_share, progress=lambda line: print(line, flush=True),
             trail=args.trail)
    partial.rename(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
