"""Alert latency: the time from an order's 2xx to its `received` alert accepted by a webhook
channel on loopback, through the real server (`hoster-compliance serve` with its in-process
delivery worker), p50/p99 over N orders (PROTOCOL 9.2: p99 < 2 s).

    python bench/alert_latency_bench.py [--databases sqlite,postgresql] [--orders 300]
        [--processes 1] [--threads 8] [--concurrency 1] [--rate R] [--json results.json]

The configuration has one `[[alerts]]` channel, a Slack-style webhook served by this process
(answering 200). Each order's clock starts when its sender has read the 201 and stops when the
webhook endpoint has read the alert; both instants are time.monotonic() in this one process.
The acknowledgements go to a loopback issuer at the same time, as in production. Never a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _stats import latency_summary, latency_text
from ack_latency_bench import latency_main, send_orders
from ingest_bench import (
    SECRET,
    drop_database,
    free_port,
    fresh_database,
    hoster_server,
    write_config,
)

from hoster_compliance.issuer import CallbackServer


class WebhookSink:
    """A loopback incoming webhook: the arrival time of each order's `received` alert."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.monotonic()
                details = body["hoster_compliance"]
                if details["event"] == "received":
                    with sink.lock:
                        sink.arrived.setdefault(details["order_id"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops connections
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/bench"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, wanted: set[str], timeout: float) -> dict[str, float]:
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            with self.lock:
                if wanted <= set(self.arrived):
                    break
            time.sleep(0.05)
        with self.lock:
            return dict(self.arrived)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bench_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_url = fresh_database(kind, workdir, "hc_bench_alert")
    port = free_port()
    tag = f"alert-{kind}-{time.time_ns()}"
    order_ids = [f"{tag}-{n}" for n in range(args.orders)]
    sink = WebhookSink()
    try:
        with CallbackServer(SECRET) as issuer:
            config = write_config(workdir / f"{kind}.toml", db_url, issuer.url)
            with config.open("a") as out:
                out.write(f'\n[[alerts]]\nname = "chat"\nchannel = "webhook"\n'
                          f'url = "{sink.url}"\nevents = ["received"]\n')
            with hoster_server(config, port, workdir / f"{kind}-alert.log", args.processes,
                               args.threads, worker=True):
                warm = [f"{tag}-warm-{n}" for n in range(20)]
                send_orders(port, warm, 1)
                sink.wait(set(warm), timeout=60)
                started = time.monotonic()
                answered = send_orders(port, order_ids, args.concurrency, args.rate)
                sent_rate = len(order_ids) / (time.monotonic() - started)
                arrived = sink.wait(set(order_ids), timeout=120)
    finally:
        sink.close()
    if kind == "postgresql":
        drop_database("hc_bench_alert")
    missing = [o for o in order_ids if o not in arrived]
    if missing:
        raise SystemExit(f"{len(missing)} alerts never arrived, e.g. {missing[:3]}")
    latencies = sorted(arrived[o] - answered[o] for o in order_ids)
    result = {
        **latency_summary(latencies),
        "orders_per_second": sent_rate,
    }
    print(f"{kind:10} {sent_rate:5.1f} orders/s; received alert after 2xx over "
          f"{result['orders']} orders: {latency_text(result)})", flush=True)
    return result


def main() -> None:
    latency_main(__doc__, bench_database, orders=300, prefix="hc-alert-")


if __name__ == "__main__":
    sys.exit(main())
