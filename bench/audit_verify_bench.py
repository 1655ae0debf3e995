"""How long ``audit verify`` takes on a large store, and how much memory it needs.

The store: ``bench/generate.py``'s synthetic year (orders, notices, items, actions, withdrawals,
acknowledgements), plus the events the code would have written for it, built with the code's
own event builders (``orders/history.py``) and chained with ``store/audit.py``, interleaved in
time order as a real trail is. Then ``ComplianceService.verify_audit`` (chain, replay of every
order, the comparison) runs ``--repeat`` times.

    python bench/audit_verify_bench.py --orders 100000 --repeat 3
    python bench/audit_verify_bench.py --orders 100000 --repeat 3 \
        --database postgresql://postgres@127.0.0.1:5432/hc_bench_audit

A SQLite store is cached in bench/out/; a PostgreSQL database is emptied and filled every time
unless ``--reuse`` is given. Peak memory is the process's: it includes building the store when
that happened in the same run.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import ITEM_COLUMNS, ORDER_COLUMNS, generate, rows  # noqa: E402

from hoster_compliance.orders.history import action_detail, received_detail  # noqa: E402
from hoster_compliance.orders.trail import verify_audit  # noqa: E402
from hoster_compliance.store.audit import append_events, event_row  # noqa: E402
from hoster_compliance.store.engine import make_engine  # noqa: E402
from hoster_compliance.store.tables import metadata  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def trail_of(order: dict[str, Any], order_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events the service writes for one order in this state (see orders/history.py)."""
    pk = order["id"]
    made = [event_row(order_pk=pk, at=order["received_at"], type="received",
                      actor=f"issuer:{order['issuer_id']}",
                      detail=received_detail(order, order_items))]
    if order["acknowledged_at"] is not None:
        made.append(event_row(order_pk=pk, at=order["acknowledged_at"], type="acknowledged",
                              actor="system:outbox", detail={"delivery_id": pk}))
    for item in order_items:
        if item["action"] is not None:
            made.append(event_row(
                order_pk=pk, at=item["acted_at"], type="action", actor=item["actor"],
                detail=action_detail(item_id=item["item_id"], action=item["action"],
                                     acted_at=item["acted_at"], reason=item["reason"],
                                     basis=item["basis"], automated=bool(item["automated"]))))
    if order["completed_at"] is not None:
        made.append(event_row(order_pk=pk, at=order["completed_at"], type="completed",
                              actor="system",
                              detail={"effect_given": order["effect_given_at"] is not None}))
        made.append(event_row(order_pk=pk, at=order["completed_at"] + 500_000,
                              type="outcome_delivered", actor="system:outbox",
                              detail={"delivery_id": pk, "status": 200}))
    if order["withdrawn_at"] is not None:
        made.append(event_row(order_pk=pk, at=order["withdrawn_at"], type="withdrawn",
                              actor=f"issuer:{order['issuer_id']}",
                              detail={"reason": order["withdrawn_reason"]}))
    return made


def build(url: str, count: int) -> None:
    started = time.monotonic()
    generate(url, count)
    print(f"orders and items written in {time.monotonic() - started:.0f} s", flush=True)
    pending: list[tuple[int, int, dict[str, Any]]] = []
    for order_tuple, item_tuples in rows(count):
        order = dict(zip(ORDER_COLUMNS, order_tuple, strict=True))
        order_items = [dict(zip(ITEM_COLUMNS, t, strict=True)) for t in item_tuples]
        for event in trail_of(order, order_items):
            pending.append((event["at"], len(pending), event))
    pending.sort(key=lambda entry: entry[:2])  # a real trail interleaves orders in time
    engine = make_engine(url)
    for start in range(0, len(pending), 20_000):
        with engine.begin() as conn:
            append_events(conn, [entry[2] for entry in pending[start:start + 20_000]])
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"{len(pending):,} events chained; store ready in {time.monotonic() - started:.0f} s",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL to fill (default: a cached SQLite file)")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: verify what an earlier run filled (so that the peak "
                             "memory printed is verify's alone)")
    args = parser.parse_args(argv)
    if args.database:
        url = args.database
        if not args.reuse:
            engine = make_engine(url)
            metadata.drop_all(engine)
            engine.dispose()
            build(url, args.orders)
    else:
        path = OUT / f"audit-{args.orders}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            OUT.mkdir(exist_ok=True)
            partial = path.with_name(path.name + ".part")
            for leftover in OUT.glob(partial.name + "*"):
                leftover.unlink()
            build(f"sqlite:///{partial}", args.orders)
            partial.rename(path)
    engine = make_engine(url)
    with engine.connect() as conn:
        event_count = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
        item_count = conn.execute(sa.text("SELECT count(*) FROM items")).scalar_one()
    print(f"{engine.dialect.name}: {args.orders:,} orders, {item_count:,} items, "
          f"{event_count:,} events")
    for round_ in range(1, args.repeat + 1):
        wall, cpu = time.monotonic(), time.process_time()
        report = verify_audit(engine)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"round {round_}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, "
              f"{wall / report.events * 1e6:5.1f} us/event; intact={report.intact} "
              f"orders={report.orders:,} partial={report.partial_orders} "
              f"differences={report.state_total}; peak RSS {rss:.0f} MiB", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
