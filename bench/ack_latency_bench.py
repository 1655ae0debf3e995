"""Acknowledgement latency: the time from an order's 2xx to its acknowledgement accepted by the
issuer, through the real server (`hoster-compliance serve` with its in-process delivery worker)
and a loopback issuer (``issuer.CallbackServer``), p50/p99 over N orders.

    python bench/ack_latency_bench.py [--databases sqlite,postgresql] [--orders 1000]
        [--processes 1] [--threads 8] [--concurrency 1] [--rate R] [--json results.json]

Each order's clock starts when its sender has read the 2xx answer and stops when the issuer's
endpoint received the acknowledgement it answered 200 to; both instants are time.monotonic()
in this one process. An acknowledgement may overtake the 2xx on its way back (the worker is
woken by the commit): such a latency is negative and counted as such. Never a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _stats import latency_summary, latency_text
from ingest_bench import (
    ISSUER,
    SECRET,
    drop_database,
    free_port,
    fresh_database,
    hoster_server,
    machine,
    postgres_version,
    signed_request,
    write_config,
)

from hoster_compliance.issuer import CallbackServer


def send_orders(port: int, order_ids: list[str], concurrency: int,
                rate: float | None = None) -> dict[str, float]:
    """Send every order (``concurrency`` senders, each one at a time; at most ``rate`` orders
    per second in all when given); the 2xx instants."""
    answered: dict[str, float] = {}
    lock = threading.Lock()
    failures: list[str] = []
    start = time.monotonic()

    def sender(n: int, mine: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for k, order_id in enumerate(mine):
            if rate:
                time.sleep(max(start + (k * concurrency + n) / rate - time.monotonic(), 0))
            body, headers = signed_request(order_id)
            conn.request("POST", f"/v1/webhooks/{ISSUER}", body, headers)
            response = conn.getresponse()
            response.read()
            done = time.monotonic()
            with lock:
                if response.status == 201:
                    answered[order_id] = done
                else:
                    failures.append(f"{order_id}: {response.status}")
        conn.close()

    threads = [threading.Thread(target=sender, args=(n, order_ids[n::concurrency]))
               for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"orders not accepted: {failures[:5]}")
    return answered


def bench_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_url = fresh_database(kind, workdir, "hc_bench_ack")
    port = free_port()
    tag = f"ack-{kind}-{time.time_ns()}"
    order_ids = [f"{tag}-{n}" for n in range(args.orders)]
    with CallbackServer(SECRET) as issuer:
        config = write_config(workdir / f"{kind}.toml", db_url, issuer.url)
        with hoster_server(config, port, workdir / f"{kind}-ack.log", args.processes,
                           args.threads, worker=True):
            warm = [f"{tag}-warm-{n}" for n in range(20)]
            send_orders(port, warm, 1)
            issuer.wait_for(len(warm), timeout=60)
            started = time.monotonic()
            answered = send_orders(port, order_ids, args.concurrency, args.rate)
            sent_rate = len(order_ids) / (time.monotonic() - started)
            wanted = set(order_ids)

            def all_acked(received: list[Any]) -> bool:
                return wanted <= {r.payload["data"]["order_id"] for r in received
                                  if r.verified and r.status == 200}

            received = issuer.wait_for(all_acked, timeout=120)
    if kind == "postgresql":
        drop_database("hc_bench_ack")
    acked: dict[str, float] = {}
    for callback in received:
        order_id = callback.payload["data"]["order_id"]
        if order_id in wanted and callback.status == 200 and order_id not in acked:
            acked[order_id] = callback.received_at
    latencies = sorted(acked[o] - answered[o] for o in order_ids)
    result = {
        **latency_summary(latencies),
        "unverified": sum(1 for r in received if not r.verified),
        "callbacks": len(received),
        "orders_per_second": sent_rate,
    }
    print(f"{kind:10} {sent_rate:5.1f} orders/s; acknowledgement after 2xx over "
          f"{result['orders']} orders: {latency_text(result)}; "
          f"{result['unverified']} unverified)", flush=True)
    return result


def main() -> None:
    latency_main(__doc__, bench_database, orders=1000, prefix="hc-ack-")


def latency_main(doc: str, bench: Callable[[str, argparse.Namespace, Path], dict[str, Any]],
                 *, orders: int, prefix: str) -> None:
    """The command line of a latency benchmark over orders sent to a real server (this one and
    the alert latency's): ``bench`` once per database, the results printed and kept."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--orders", type=int, default=orders)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None,
                        help="orders per second in all (default: as fast as answered)")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    info = machine()
    if "postgresql" in args.databases:
        info += f", PostgreSQL {postgres_version()}"
    print(info, flush=True)
    results: dict[str, Any] = {"machine": info, "settings": vars(args)}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        for kind in args.databases.split(","):
            results[kind] = bench(kind, args, Path(tmp))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
