"""Slow-client benchmark (PROTOCOL 13.1): `hoster-compliance serve` with COUNT connections open
that send a request's headers a byte at a time, stall their body, or send nothing (a third of
each, reopened as soon as the server drops one), while an issuer sends a signed order every
0.25 s on a new connection. Prints how many slow connections were held, how long the orders
took, and when the server dropped the slow connections.

    python bench/slow_client_bench.py [--count 200] [--duration 30] [--threads 8] [--gthread]

``--gthread`` serves with gunicorn's gthread worker instead of the bounded front, for the
figures of the old server. Loopback only, bounded in time; never a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the slow clients live with the tests' helpers
sys.path.insert(0, str(ROOT / "bench"))

from _stats import percentile  # noqa: E402
from ingest_bench import CLI, ISSUER, SECRET, Server, free_port, machine, write_config  # noqa: E402

from hoster_compliance.issuer import IssuerSender  # noqa: E402
from tests.helpers import order_data  # noqa: E402
from tests.helpers.slow_clients import SlowClients  # noqa: E402

GTHREAD_PRELUDE = (
    "import hoster_compliance_receiver.serve as _s\n"
    "_settings = _s.gunicorn_settings\n"
    "_s.gunicorn_settings = lambda *a, **k: {**_settings(*a, **k), 'worker_class': 'gthread'}\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between two bytes of one trickling connection")
    parser.add_argument("--gthread", action="store_true")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="hc-slow-") as tmp:
        work = Path(tmp)
        config = write_config(work / "hc.toml", f"sqlite:///{work / 'hc.db'}",
                              "http://127.0.0.1:9/issuer")
        port = free_port()
        cli = list(CLI)
        if args.gthread:
            cli[-1] = GTHREAD_PRELUDE + cli[-1]
        command = [*cli, "serve", "--config", str(config), "--port", str(port),
                   "--processes", "1", "--threads", str(args.threads), "--no-worker"]
        latencies: list[float] = []
        failures = 0
        held: list[int] = []
        with Server(command, port, work / "serve.log") as server, \
                SlowClients("127.0.0.1", port, count=args.count, interval=args.interval,
                            stall_body_after=5) as slow:
            started = time.monotonic()
            n = 0
            while time.monotonic() - started < args.duration:
                n += 1
                held.append(slow.open_count())
                with IssuerSender(server.url, ISSUER, SECRET, timeout=10) as sender:
                    t0 = time.monotonic()
                    try:
                        status = sender.send_order(order_data(f"slow-{n}")).status_code
                    except requests.RequestException:
                        status = None
                    elapsed = time.monotonic() - t0
                if status == 201:
                    latencies.append(elapsed)
                else:
                    failures += 1
                time.sleep(0.25)
            dropped = list(slow.dropped)
    server_kind = "gunicorn gthread" if args.gthread else "gunicorn + waitress front"
    print(f"server: {server_kind}, 1 process x {args.threads} threads; "
          f"{args.count} slow connections, a byte every {args.interval} s; {args.duration:.0f} s")
    print(f"slow connections open while probing: min {min(held)}, "
          f"median {statistics.median(held):.0f}, max {max(held)}")
    if latencies:
        print(f"orders answered 201: {len(latencies)} of {len(latencies) + failures}; "
              f"time to answer p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {percentile(sorted(latencies), 99) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms")
    else:
        print(f"orders answered 201: 0 of {failures} (each waited up to 10 s)")
    measures = {"headers": ("since their first byte", lambda c: c.since_first_byte()),
                "body": ("since their last byte", lambda c: c.quiet_for()),
                "silent": ("since they opened", lambda c: c.quiet_for())}
    for kind, (since, measure) in measures.items():
        times = [measure(conn) for conn in dropped if conn.kind == kind]
        if times:
            print(f"dropped by the server, {kind}: {len(times)}, {since} "
                  f"{min(times):.1f} / {statistics.median(times):.1f} / {max(times):.1f} s "
                  "(min / median / max)")
        else:
            print(f"dropped by the server, {kind}: none")


if __name__ == "__main__":
    main()
