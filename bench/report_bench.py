"""Benchmark of the transparency report on a year of a large hoster (1,000,000 orders and
notices, ~3,000,000 items, SQLite), against pandas computing the same medians from the same file.

    python bench/report_bench.py                     # generates bench/out/report-1000000.db once
    python bench/report_bench.py --orders 20000 --repeat 3

Each run is a fresh process: build_report + render_json timed (wall and CPU), peak RSS from
getrusage; then pandas (read_sql + groupby median) likewise; the medians must agree. Targets:
< 10 s, < 300 MB, faster than pandas. The generated database is cached under bench/out/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
YEAR = 2026
NOW = datetime(YEAR + 1, 3, 1, tzinfo=UTC)
US_PER_HOUR = 3_600_000_000


def _peak_mb() -> float:
    """Peak resident memory of this process: VmHWM (reset by exec, unlike ru_maxrss, which a
    child inherits from a big parent at fork), else ru_maxrss (KiB on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_report(db: Path, workers: int | None, url: str | None = None) -> dict[str, Any]:
    from hoster_compliance.report import build_report, render_json
    from hoster_compliance.store.engine import make_engine

    engine = make_engine(url or f"sqlite:///{db}")
    wall, cpu = time.perf_counter(), time.process_time()
    report = build_report(engine, date(YEAR, 1, 1), date(YEAR, 12, 31), now=NOW, workers=workers)
    text = render_json(report)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    medians: dict[str, float | None] = {}
    for g in report["orders"]["breakdown"]:
        key = f"{g['member_state']}|{g['category']}|{g['subcategory']}|{g['description']}"
        medians[f"orders.ack|{key}"] = g["median_hours_to_acknowledge"]
        medians[f"orders.effect|{key}"] = g["median_hours_to_effect"]
    for g in report["notices"]["breakdown"]:
        key = f"{g['category']}|{g['subcategory']}|{g['description']}"
        medians[f"notices.action|{key}"] = g["median_hours_to_action"]
        medians[f"notices.tf_action|{key}"] = g["trusted_flagger"]["median_hours_to_action"]
    for ms, f in report["orders"]["by_member_state"].items():
        medians[f"orders.ack|ms|{ms}"] = f["median_hours_to_acknowledge"]
    for c, f in report["orders"]["by_category"].items():
        medians[f"orders.effect|cat|{c}"] = f["median_hours_to_effect"]
    return {"wall": wall, "cpu": cpu, "rss_mb": _peak_mb(), "json_bytes": len(text),
            "own_initiative": report["own_initiative"]["total"]["count"],
            "orders": report["orders"]["total"]["count"],
            "notices": report["notices"]["total"]["count"], "medians": medians}


def child_pandas(db: Path) -> dict[str, Any]:
    """The same medians with pandas: read the period's rows, map them onto the Commission's
    rows (the same KEYWORD_OTHER rules), group and take medians."""
    import pandas as pd

    from hoster_compliance.report.layout import category_layout

    lo = int(datetime(YEAR, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    hi = int(datetime(YEAR + 1, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    wall, cpu = time.perf_counter(), time.process_time()
    with sqlite3.connect(db) as conn:
        df = pd.read_sql_query(
            "SELECT kind, issuer_member_state AS ms, category, subcategory, subcategory_other,"
            " trusted_flagger AS tf, status, received_at, acknowledged_at, effect_given_at"
            " FROM orders WHERE received_at >= ? AND received_at < ?", conn, params=(lo, hi))
    df["ack"] = (df["acknowledged_at"] - df["received_at"]) / US_PER_HOUR
    df["effect"] = (df["effect_given_at"] - df["received_at"]) / US_PER_HOUR
    df.loc[df["status"] == "withdrawn", "effect"] = math.nan
    medians: dict[str, float | None] = {}
    for kind, unspecified in (("order", "authority"), ("notice", "notifier")):
        part = df[df["kind"] == kind].copy()
        with_subs = [c for c, subs in category_layout(kind).items() if subs]
        has_subs = part["category"].isin(with_subs)
        other = part["subcategory"].isna() | (part["subcategory"] == "KEYWORD_OTHER")
        text = part["subcategory_other"].fillna("").str.strip().replace("", math.nan)
        part["sub"] = part["subcategory"].where(~other, "KEYWORD_OTHER").where(has_subs, None)
        part["desc"] = text.fillna(f"Sub-category not specified by the {unspecified}").where(
            has_subs & other, None)
        part["all"] = "TOTAL"
        if kind == "order":
            for scope in ("all", "ms"):
                for keys in ([scope], [scope, "category"], [scope, "category", "sub", "desc"]):
                    table = part.groupby(keys, dropna=False)[["ack", "effect"]].median()
                    for index, row in table.iterrows():
                        key = _key(index, keys)
                        medians[f"orders.ack|{key}"] = row["ack"]
                        medians[f"orders.effect|{key}"] = row["effect"]
            for ms, value in part.groupby("ms")["ack"].median().items():
                medians[f"orders.ack|ms|{ms}"] = value
            for c, value in part.groupby("category")["effect"].median().items():
                medians[f"orders.effect|cat|{c}"] = value
        else:
            tf = part[part["tf"] == 1]
            for keys in (["all"], ["category"], ["category", "sub", "desc"]):
                table = pd.concat({"all": part.groupby(keys, dropna=False)["effect"].median(),
                                   "tf": tf.groupby(keys, dropna=False)["effect"].median()},
                                  axis=1)
                for index, row in table.iterrows():
                    key = _key(index, keys, scoped=False)
                    medians[f"notices.action|{key}"] = row["all"]
                    medians[f"notices.tf_action|{key}"] = row["tf"]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    clean = {k: (None if v is None or math.isnan(v) else float(v)) for k, v in medians.items()}
    return {"wall": wall, "cpu": cpu, "rss_mb": _peak_mb(), "medians": clean}


def _key(index: Any, keys: list[str], scoped: bool = True) -> str:
    """The report's breakdown key (scope|category|subcategory|description) of a group."""
    values = dict(zip(keys, index if isinstance(index, tuple) else (index,), strict=True))
    parts = [values.get("all") or values.get("ms")] if scoped else []
    parts.append(values.get("category", "TOTAL"))
    for name in ("sub", "desc"):
        value = values.get(name)
        parts.append(None if value is None or value != value else value)  # NaN: none
    return "|".join(str(p) for p in parts)


def _run_child(kind: str, db: Path, workers: int | None, url: str | None = None
               ) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--db", str(db)]
    if url:
        command += ["--database-url", url]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _agree(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    problems = []
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        if a is None or b is None:
            if a != b:
                problems.append(f"{key}: {a} != {b}")
        elif not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"{key}: {a} != {b}")
    return problems


def _machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Transparency report benchmark")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="default: bench/out/report-ORDERS.db")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    parser.add_argument("--workers", type=int, help="build_report(workers=...)")
    parser.add_argument("--database-url", help="PostgreSQL instead: postgresql://... (filled "
                        "with the generated year when its orders table is empty; no pandas run)")
    parser.add_argument("--own-initiative-share", type=float, default=0.0,
                        help="share of notices generated as own-initiative entries")
    parser.add_argument("--child", choices=["report", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    db: Path = args.db or HERE / "out" / f"report-{args.orders}.db"
    if args.child == "report":
        print(json.dumps(child_report(db, args.workers, args.database_url)))
        return 0
    if args.database_url:
        return _postgres(args)
    if args.child == "pandas":
        print(json.dumps(child_pandas(db)))
        return 0
    if not db.exists():  # in its own process, so that this one stays small
        started = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--orders", str(args.orders),
                        "--out", str(db)], check=True)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    print(_machine())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    ours = [_run_child("report", db, args.workers) for _ in range(args.repeat)]
    theirs = [_run_child("pandas", db, None) for _ in range(args.repeat)]
    print(f"load average after:  {os.getloadavg()[0]:.2f}")
    best, best_pd = min(ours, key=lambda r: r["wall"]), min(theirs, key=lambda r: r["wall"])
    print(f"period {YEAR}: {best['orders']:,} orders, {best['notices']:,} notices "
          f"({db.stat().st_size / 2**20:,.0f} MiB database)")
    for name, runs, top in (("build_report + render_json", ours, best),
                            ("pandas read_sql + medians ", theirs, best_pd)):
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
        print(f"{name}: {top['wall']:.2f} s wall, {top['cpu']:.2f} s CPU, peak RSS "
              f"{max(r['rss_mb'] for r in runs):.0f} MB (runs: {walls} s)")
    problems = _agree(best["medians"], best_pd["medians"])
    print(f"medians compared: {len(best['medians'])}, disagreeing: {len(problems)}")
    for problem in problems[:20]:
        print("  " + problem)
    return 1 if problems else 0


def _postgres(args: argparse.Namespace) -> int:
    """The report on PostgreSQL (Parts 5 and 8 included): fill the database once, then time
    build_report + render_json in fresh processes."""
    import sqlalchemy as sa

    from hoster_compliance.store.engine import init_schema, make_engine

    engine = make_engine(args.database_url)
    init_schema(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
    engine.dispose()
    if not stored:
        started = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--orders", str(args.orders),
                        "--url", args.database_url, "--own-initiative-share",
                        str(args.own_initiative_share)], check=True)
        engine = make_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        engine.dispose()
        print(f"generated in {time.perf_counter() - started:.0f} s")
    print(_machine().rsplit(",", 1)[0] + ", PostgreSQL")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    runs = [_run_child("report", Path("-"), args.workers, args.database_url)
            for _ in range(args.repeat)]
    print(f"load average after:  {os.getloadavg()[0]:.2f}")
    best = min(runs, key=lambda r: r["wall"])
    walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
    print(f"period {YEAR}: {best['orders']:,} orders, {best['notices']:,} notices, "
          f"{best['own_initiative']:,} own-initiative entries")
    print(f"build_report + render_json (Parts 5 and 8 included): {best['wall']:.2f} s wall, "
          f"{best['cpu']:.2f} s CPU, peak RSS {max(r['rss_mb'] for r in runs):.0f} MB "
          f"(runs: {walls} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
