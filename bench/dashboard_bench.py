"""Benchmark of the dashboard's pages on a database of 100,000 orders (SQLite and PostgreSQL):
server time per request, p50 and p99.

    python bench/dashboard_bench.py                          # both databases, 100,000 orders
    python bench/dashboard_bench.py --databases sqlite --requests 500

The data is bench/generate.py's year (with ``--trail``: each order's events and deliveries),
cached under bench/out/ (SQLite) or in the PostgreSQL database ``hc_bench_dashboard``. The app
is the real receiver (``create_app``) on that database, logged in like a browser; each request
goes through Flask's test client, so the time is the server's: routing, session and CSRF
checks, the service's queries, and rendering the page (no network, no browser). The clock is
fixed after the generated year, so every order is in the past.

Pages: the open orders (the default view), every order deadline first (a sort over all
100,000), the 200th page of every order (a deep cursor), and the page of one order (a random
one each time: fields, ~3 items with their forms, events, deliveries).

    python bench/dashboard_bench.py --big-order-only          # only the 1,000-item order

The big order: a database of its own (bench/out/dashboard-big-order.db, or the PostgreSQL
database ``hc_bench_dashboard_big``, made afresh each run) holding one EU_TCO order of 1,000
items, received through the signed webhook, its first 500 items removed. Its page shows 100
items a time: page 1 with the statements of reasons of its 100 removed items, page 6 with 100
action forms, and page 10 (the last); and, for comparison, the page with all 1,000 items at
once (as before it was paged: 500 statements and 500 forms).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from report_bench import _machine  # noqa: E402

from hoster_compliance.config import Config, IssuerConfig  # noqa: E402
from hoster_compliance.issuer import IssuerSender  # noqa: E402
from hoster_compliance.service import ComplianceService  # noqa: E402
from hoster_compliance.store.engine import make_engine  # noqa: E402
from hoster_compliance.store.tables import orders  # noqa: E402
from hoster_compliance_receiver import create_app  # noqa: E402
from hoster_compliance_receiver.ui import present  # noqa: E402

NOW = datetime(2027, 1, 12, tzinfo=UTC)
TOKEN = "bench-operator-token-0123"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = "hc_bench_dashboard"
PG_BIG = "hc_bench_dashboard_big"
BIG_ITEMS = 1000


def _sqlite(count: int) -> str:
    path = HERE / "out" / f"dashboard-{count}.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        generate(f"sqlite:///{partial}", count, trail=True)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.0f} s")
    return f"sqlite:///{path}"


def _postgres(count: int) -> str:
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": PG_NAME}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    except sa.exc.ProgrammingError:
        have = 0
    engine.dispose()
    if have != count:
        if have:
            raise SystemExit(f"{PG_NAME} holds {have} orders, not {count}; drop it first")
        started = time.perf_counter()
        generate(url, count, trail=True)
        engine = make_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
        engine.dispose()
        print(f"generated {PG_NAME} in {time.perf_counter() - started:.0f} s")
    return url


def _secret(issuer_id: str) -> str:
    """Each issuer's own webhook secret (PROTOCOL 13.3: never one for two issuers)."""
    digest = hashlib.sha256(b"bench " + issuer_id.encode()).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def _config(url: str) -> Config:
    issuers = tuple(
        IssuerConfig(id=f"{who}-{ms}", member_state=ms.upper(), name=f"{who} {ms.upper()}",
                     secrets=(_secret(f"{who}-{ms}"),),
                     api_base="http://127.0.0.1:9")
        for who in ("authority", "hotline")
        for ms in ("nl", "de", "fr", "be", "el", "it", "es", "at"))
    return Config(hoster_id="bench", database_url=url, operator_tokens=(TOKEN,),
                  issuers=issuers)


def _login(client: Any) -> None:
    form = client.get("/ui/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post("/ui/login", data={"csrf_token": token.group(1), "token": TOKEN})
    assert answer.status_code == 303, answer.status_code


def _time(client: Any, urls: Callable[[], str], count: int) -> tuple[list[float], float]:
    """Wall milliseconds of each request, and this process's mean CPU milliseconds a request
    (the database server's CPU not included: PostgreSQL runs in its own processes)."""
    for _ in range(5):  # warm caches and the connection pool
        client.get(urls())
    times = []
    cpu_started = time.process_time()
    for _ in range(count):
        url = urls()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times, (time.process_time() - cpu_started) * 1000 / count


def _deep_cursor(client: Any, pages: int) -> str:
    url = "/ui/orders?status=all"
    for _ in range(pages):
        found = re.search(r'href="([^"]+)" rel="next"', client.get(url).text)
        assert found is not None
        url = found.group(1).replace("&amp;", "&")
    return url


def run(name: str, url: str, requests: int) -> None:
    service = ComplianceService(_config(url), clock=lambda: NOW)
    app = create_app(service.config, service=service)
    client = app.test_client()
    _login(client)
    with service.engine.connect() as conn:
        keys = conn.execute(sa.select(orders.c.issuer_id, orders.c.order_id)).all()
        total = len(keys)
        open_count = conn.execute(sa.select(sa.func.count()).select_from(orders)
                                  .where(orders.c.status == "open")).scalar_one()
    rng = random.Random(1)
    deep = _deep_cursor(client, 200)
    pages: list[tuple[str, Callable[[], str]]] = [
        ("open orders (default view)", lambda: "/ui/orders"),
        ("every order, deadline first", lambda: "/ui/orders?status=all"),
        ("every order, page 201", lambda: deep),
        ("one order", lambda: "/ui/orders/{}/{}".format(*rng.choice(keys))),
    ]
    print(f"\n{name}: {total:,} orders ({open_count:,} open), {requests} requests a page")
    print(f"{'page':<30} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU ms':>8}")
    for label, urls in pages:
        times, cpu = _time(client, urls, requests)
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(f"{label:<30} {statistics.median(times):8.1f} {p99:8.1f} {times[-1]:8.1f} "
              f"{cpu:8.1f}")
    service.engine.dispose()


def _fresh_big_database(name: str) -> str:
    """An empty database for the big order: a new SQLite file, or PostgreSQL's PG_BIG made
    again."""
    if name == "sqlite":
        path = HERE / "out" / "dashboard-big-order.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_BIG}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{PG_BIG}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_BIG


def _store_big_order(service: ComplianceService) -> str:
    """One EU_TCO order of BIG_ITEMS items through the signed webhook, the first half removed;
    its page's path."""
    data = {
        "order_id": "big-1", "kind": "order", "regime": "EU_TCO",
        "legal_basis": "Regulation (EU) 2021/784, Art. 3",
        "statement_of_reasons": "Terrorist content: a recruitment video, copied many times.",
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "subcategory": "KEYWORD_TERRORIST_CONTENT",
        "issued_at": (NOW.replace(minute=0) if NOW.minute else NOW).isoformat()
        .replace("+00:00", "Z"),
        "items": [{"item_id": f"i{n}", "url": f"https://files.example-hosting.nl/u/{n}/v.mp4"}
                  for n in range(1, BIG_ITEMS + 1)],
    }
    with IssuerSender("http://unused", "authority-nl", _secret("authority-nl"),
                      clock=NOW.timestamp) as sender:
        body = sender.envelope("order.created", data, timestamp=int(NOW.timestamp()))
        result = service.receive("authority-nl", sender.headers_for(body), body)
    assert result.status == 201, result.body
    for n in range(1, BIG_ITEMS // 2 + 1):
        service.act("authority-nl", "big-1", f"i{n}", {"action": "removed"}, actor="bench")
    return "/ui/orders/authority-nl/big-1"


def run_big_order(name: str, requests: int) -> None:
    url = _fresh_big_database(name)
    service = ComplianceService(_config(url), clock=lambda: NOW)
    path = _store_big_order(service)
    app = create_app(service.config, service=service)
    client = app.test_client()
    _login(client)
    pages: list[tuple[str, Callable[[], str]]] = [
        ("page 1 (100 statements)", lambda: path),
        ("page 6 (100 action forms)", lambda: path + "?items_page=6"),
        ("page 10 (the last)", lambda: path + "?items_page=10"),
    ]
    first = client.get(path).text
    assert first.count('class="statement"') == 100 and first.count('class="act"') == 1
    assert client.get(path + "?items_page=6").text.count('class="act"') == 101
    print(f"\n{name}: one order of {BIG_ITEMS:,} items (500 removed), {requests} requests a page")
    print(f"{'page':<30} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU ms':>8}")
    for label, urls in pages:
        _report(label, *_time(client, urls, requests))
    # For comparison: what the page cost before it was paged (every item and form at once).
    shown, present.ITEMS_PER_PAGE = present.ITEMS_PER_PAGE, BIG_ITEMS
    try:
        _report("all 1,000 at once (no paging)", *_time(client, lambda: path, requests))
    finally:
        present.ITEMS_PER_PAGE = shown
    service.engine.dispose()


def _report(label: str, times: list[float], cpu: float) -> None:
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"{label:<30} {statistics.median(times):8.1f} {p99:8.1f} {times[-1]:8.1f} {cpu:8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--big-order-only", action="store_true",
                        help="measure only the page of one order of 1,000 items")
    args = parser.parse_args(argv)
    print(_machine())
    for name in args.databases.split(","):
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        run_big_order(name, args.requests)
        print(f"load average after:  {os.getloadavg()[0]:.2f}")
    if args.big_order_only:
        return 0
    for name in args.databases.split(","):
        url = _sqlite(args.orders) if name == "sqlite" else _postgres(args.orders)
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        run(name, url, args.requests)
        print(f"load average after:  {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
