"""Slow and stormy issuers: what one misbehaving issuer endpoint costs the others, through the
real server (`hoster-compliance serve`, its in-process delivery worker of two threads).

    python bench/slow_issuer_bench.py [--databases sqlite,postgresql] [--timeout 15]
        [--slow-orders 20] [--orders 40] [--rate 2] [--storm-seconds 10] [--json out.json]

slow   Issuer ``slow`` answers ``HTTP/1.1 200 OK`` and then one header byte every 3 s, for ever
       (tests/helpers/slow_peer.py). ``--slow-orders`` orders to it are sent first; then
       ``--orders`` orders to issuer ``nl-atkm`` (a healthy endpoint), ``--rate`` per second. For
       each of those: the time from its 2xx to its acknowledgement received. Also the duration
       of every attempt to the slow issuer (connection opened -> closed by the hoster) and how
       many there were.
storm  Issuer ``nl-atkm`` answers every callback 503 with ``Retry-After: 0``. Two orders; for
       ``--storm-seconds`` the attempts per message per second.

Never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _stats import percentile
from ingest_bench import (
    ISSUER,
    SECRET,
    drop_database,
    free_port,
    fresh_database,
    hoster_server,
    machine,
    order_body,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers.slow_peer

from hoster_compliance.issuer import CallbackServer, IssuerSender  # noqa: E402
from tests.helpers.slow_peer import SlowPeer  # noqa: E402

SLOW_SECRET = "whsec_b2xkLXNlY3JldC1zdGlsbC1hY2NlcHRlZA=="


def write_config(path: Path, db_url: str, fast_url: str, slow_url: str, timeout: float) -> Path:
    path.write_text(
        f'hoster_id = "bench-hosting"\ndatabase_url = "{db_url}"\n'
        f'operator_tokens = ["bench-token-0123456789"]\ncallback_timeout_seconds = {timeout}\n\n'
        f'[[issuers]]\nid = "{ISSUER}"\nmember_state = "NL"\nsecrets = ["{SECRET}"]\n'
        f'api_base = "{fast_url}"\ndefault_regime = "NL_ATKM"\n\n'
        f'[[issuers]]\nid = "slow"\nmember_state = "NL"\nsecrets = ["{SLOW_SECRET}"]\n'
        f'api_base = "{slow_url}"\ndefault_regime = "NL_ATKM"\n'
    )
    return path


def send(sender: IssuerSender, order_id: str) -> float:
    data = json.loads(order_body(order_id, time.time()))["data"]
    answer = sender.send_order(data)
    if answer.status_code != 201:
        raise SystemExit(f"order {order_id}: HTTP {answer.status_code} {answer.text}")
    return time.monotonic()


def slow_scenario(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    name = f"hc_bench_slow_{kind}"
    db_url = fresh_database(kind, workdir, name)
    try:
        with SlowPeer("headers", interval=3.0, limit=3600) as slow, \
                CallbackServer(SECRET) as fast:
            config = write_config(workdir / f"slow-{kind}.toml", db_url, fast.url, slow.url,
                                  args.timeout)
            with hoster_server(config, free_port(), workdir / f"slow-{kind}.log", 1, 8,
                               worker=True) as server, \
                    IssuerSender(server.url, "slow", SLOW_SECRET) as to_slow, \
                    IssuerSender(server.url, ISSUER, SECRET) as to_fast:
                started = time.monotonic()
                for n in range(args.slow_orders):
                    send(to_slow, f"slow-{n}")
                answered: dict[str, float] = {}
                for n in range(args.orders):
                    time.sleep(max(started + n / args.rate - time.monotonic(), 0))
                    answered[f"fast-{n}"] = send(to_fast, f"fast-{n}")
                try:
                    fast.wait_for(args.orders, timeout=30)
                except TimeoutError:
                    pass
                window = time.monotonic() - started
                acked = {c.payload["data"]["order_id"]: c.received_at for c in fast.received
                         if c.status == 200}
                # Before the server stops (which ends the attempt in progress).
                attempts = [(c.opened, c.closed) for c in slow.connections]
    finally:
        if kind != "sqlite":
            drop_database(name)
    latencies = sorted((acked[k] - v) * 1000 for k, v in answered.items() if k in acked)
    ended = sorted(closed - opened for opened, closed in attempts if closed is not None)
    result = {
        "database": kind, "timeout_s": args.timeout, "slow_orders": args.slow_orders,
        "orders": args.orders, "acknowledged": len(latencies),
        "ack_p50_ms": percentile(latencies, 50) if latencies else None,
        "ack_max_ms": latencies[-1] if latencies else None,
        "window_s": window, "slow_attempts": len(attempts),
        "slow_attempt_s_min": ended[0] if ended else None,
        "slow_attempt_s_max": ended[-1] if ended else None,
    }
    spans = (f"each {ended[0]:.2f}-{ended[-1]:.2f} s" if ended else "none ended")
    print(f"slow  {kind:10} other issuer: {len(latencies)}/{args.orders} acknowledged, "
          f"p50 {result['ack_p50_ms'] or float('nan'):.0f} ms, max "
          f"{result['ack_max_ms'] or float('nan'):.0f} ms; slow issuer: {len(attempts)} "
          f"attempts in {window:.0f} s, {spans}", flush=True)
    return result


def storm_scenario(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    name = f"hc_bench_storm_{kind}"
    db_url = fresh_database(kind, workdir, name)
    try:
        with CallbackServer(SECRET, responses=[(503, "0")] * 1_000_000) as issuer:
            config = write_config(workdir / f"storm-{kind}.toml", db_url, issuer.url,
                                  issuer.url, args.timeout)
            with hoster_server(config, free_port(), workdir / f"storm-{kind}.log", 1, 8,
                               worker=True) as server, \
                    IssuerSender(server.url, ISSUER, SECRET) as sender:
                for n in range(2):
                    send(sender, f"storm-{n}")
                stop = threading.Event()
                stop.wait(args.storm_seconds)
                received = issuer.received
    finally:
        if kind != "sqlite":
            drop_database(name)
    by_message: dict[str | None, list[float]] = defaultdict(list)
    for callback in received:
        by_message[callback.webhook_id].append(callback.received_at)
    per_second = [len(times) / args.storm_seconds for times in by_message.values()]
    gaps = sorted(b - a for times in by_message.values()
                  for a, b in zip(times, times[1:], strict=False))
    result = {"database": kind, "seconds": args.storm_seconds, "attempts": len(received),
              "attempts_per_message_per_s": per_second,
              "min_gap_s": gaps[0] if gaps else None}
    print(f"storm {kind:10} {len(received)} attempts for 2 messages in {args.storm_seconds:g} s"
          f" ({', '.join(f'{r:.2f}' for r in per_second)} per message per s; smallest gap "
          f"{result['min_gap_s'] or 0:.3f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--slow-orders", type=int, default=20)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    print(machine(), flush=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hc-slow-bench-") as tmp:
        for kind in args.databases.split(","):
            results.append(slow_scenario(kind, args, Path(tmp)))
            results.append(storm_scenario(kind, args, Path(tmp)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
