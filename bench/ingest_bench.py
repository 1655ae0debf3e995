"""Ingest benchmark: sustained signed orders per second and p50/p99 latency through the real
server (`hoster-compliance serve`: gunicorn processes, the bounded waitress front) against the
baseline `bench/minimal_app.py` (one durable INSERT per request) served the same way
(`serve.run_wsgi`) on the same database, in the same run.

    python bench/ingest_bench.py [--databases sqlite,postgresql] [--processes 2] [--threads 8]
        [--clients 16] [--duration 15] [--warmup 3] [--rounds 3] [--signatures v1,v1a]
        [--json results.json]

Targets, per database, each on a freshly created database:
  minimal      bench/minimal_app.py
  serve        hoster-compliance serve --no-worker   (ingest alone: receivers without worker)
  serve+worker hoster-compliance serve               (the in-process worker also delivers every
                                                      acknowledgement to a loopback issuer)

With ``--signatures v1,v1a`` the serve targets run once per signature in every round: ``v1``
orders are signed with the issuer's secret (HMAC), ``v1a`` ones with its Ed25519 key (the
configuration then holds only its public key, and the worker signs acknowledgements with the
hoster's Ed25519 key); the v1a/v1 ratio of each target is printed.

The load generator is a separate process (``ingest_bench.py load ...``): a pool of threads,
each on one keep-alive HTTP connection, every request a new order signed afresh (Standard
Webhooks); bounded in time and count, loopback only. Latency is measured
per request from send to the end of the answer; throughput counts answers completed inside the
measuring window after the warm-up. Server CPU is summed over the server's process group.
Never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _stats import percentile

from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing
from hoster_compliance.store.engine import make_engine

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Fixed Ed25519 keys: the issuer's and the hoster's (seeds of RFC 8032 section 7.1, tests 1, 2).
ISSUER_KEY = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
HOSTER_KEY = "whsk_TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs="
HOSTER_KEY_ENV = "HC_BENCH_SIGNING_KEY"
_ISSUER_PRIVATE = ed25519.parse_signing_key(ISSUER_KEY)
ISSUER = "nl-atkm"
PG_BASE = os.environ.get("HC_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
HERE = Path(__file__).resolve().parent
#: How the server is started; HC_BENCH_PRELUDE (Python statements run first) lets a profiling
#: or experiment session load a variant of the code into the same server.
CLI = [sys.executable, "-c",
       os.environ.get("HC_BENCH_PRELUDE", "") + "\nfrom hoster_compliance.cli import main; main()"]


# -- the machine and the databases -------------------------------------------------------------

def machine() -> str:
    """``lscpu``'s model name, the core count, and the software versions."""
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import sqlite3
    from importlib.metadata import version

    import gunicorn

    return (f"{model}, {os.cpu_count()} cores; Python {sys.version.split()[0]}, "
            f"gunicorn {gunicorn.__version__}, waitress {version('waitress')}, "
            f"SQLite {sqlite3.sqlite_version}")


def fresh_database(kind: str, workdir: Path, name: str) -> str:
    """A new, empty database: a SQLite file in ``workdir`` or a PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    admin = make_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{PG_BASE}/{name}"


def postgres_version() -> str:
    engine = make_engine(f"{PG_BASE}/postgres")
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def write_config(path: Path, db_url: str, api_base: str, signature: str = "v1") -> Path:
    """The receiver's configuration; with ``v1a`` the issuer is known by its public key only."""
    if signature == "v1a":
        public = ed25519.public_key_text(_ISSUER_PRIVATE)
        issuer_keys = f'public_keys = ["{public}"]'
        hoster = f'signing_key_env = "{HOSTER_KEY_ENV}"\n'
    else:
        issuer_keys, hoster = f'secrets = ["{SECRET}"]', ""
    path.write_text(
        f'hoster_id = "bench-hosting"\ndatabase_url = "{db_url}"\n'
        f'operator_tokens = ["bench-operator-token"]\n{hoster}\n[[issuers]]\nid = "{ISSUER}"\n'
        f'member_state = "NL"\n{issuer_keys}\napi_base = "{api_base}"\n'
        f'default_regime = "NL_ATKM"\n'
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- servers ---------------------------------------------------------------------------------

class Server:
    """A server command in its own process group, ready once /healthz answers."""

    def __init__(self, args: list[str], port: int, log: Path) -> None:
        self.args, self.port, self.log = args, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited; see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"server not healthy after 60 s; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of every live process in the server's group."""
        if self.proc is None:
            return 0.0
        total, tick = 0.0, os.sysconf("SC_CLK_TCK")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # pgrp
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


def hoster_server(config: Path, port: int, log: Path, processes: int, threads: int,
                  worker: bool) -> Server:
    args = [*CLI, "serve", "--config", str(config), "--port", str(port),
            "--processes", str(processes), "--threads", str(threads)]
    return Server(args if worker else [*args, "--no-worker"], port, log)


def minimal_server(db_url: str, port: int, log: Path, processes: int, threads: int) -> Server:
    # Through HC_BENCH_PRELUDE too, so that an experiment loads the same variant of the
    # server (serve.run_wsgi) into both targets.
    argv = [str(HERE / "minimal_app.py"), "--database-url", db_url, "--port", str(port),
            "--processes", str(processes), "--threads", str(threads)]
    code = (os.environ.get("HC_BENCH_PRELUDE", "") + "\nimport runpy, sys\n"
            f"sys.argv = {argv!r}\nrunpy.run_path(sys.argv[0], run_name='__main__')")
    return Server([sys.executable, "-c", code], port, log)


# -- orders and the load generator -----------------------------------------------------------

def order_body(order_id: str, now: float) -> bytes:
    """A realistic order (two items), as an issuer sends it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    data = {
        "order_id": order_id, "kind": "order", "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "Known child sexual abuse material (hash match).",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "issued_at": stamp,
        "items": [{"item_id": f"i{n}", "url": f"https://files.example-hosting.nl/u/{order_id}/{n}",
                   "content_hash": {"algorithm": "sha256", "value": "ab" * 32}}
                  for n in (1, 2)],
    }
    return json.dumps({"type": "order.created", "timestamp": stamp, "data": data}).encode()


def signed_request(order_id: str, signature: str = "v1") -> tuple[bytes, dict[str, str]]:
    now = time.time()
    body = order_body(order_id, now)
    if signature == "v1a":
        headers = signing.signature_headers(None, "msg_" + order_id, body, timestamp=int(now),
                                            signing_keys=[_ISSUER_PRIVATE])
    else:
        headers = signing.signature_headers(SECRET, "msg_" + order_id, body, timestamp=int(now))
    headers["Content-Type"] = "application/json"
    return body, headers


def load_main(argv: list[str]) -> None:
    """The load generator process: prints one JSON line of results."""
    parser = argparse.ArgumentParser(prog="ingest_bench.py load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--tag", default="o")
    parser.add_argument("--signature", choices=["v1", "v1a"], default="v1")
    args = parser.parse_args(argv)

    path = f"/v1/webhooks/{ISSUER}"
    start = time.monotonic()
    window = (start + args.warmup, start + args.warmup + args.duration)
    per_client = args.max_requests // args.clients
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(args.clients)]
    cpu = {}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        out = results[n]
        for i in range(per_client):
            if time.monotonic() >= window[1]:
                break
            body, headers = signed_request(f"{args.tag}-{n}-{i}", args.signature)
            sent = time.monotonic()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
                status = 0
            done = time.monotonic()
            out.append((done, done - sent, status))
        conn.close()

    def mark_cpu(key: str, at: float) -> None:
        time.sleep(max(at - time.monotonic(), 0))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu[key] = usage.ru_utime + usage.ru_stime

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    threads += [threading.Thread(target=mark_cpu, args=("start", window[0])),
                threading.Thread(target=mark_cpu, args=("end", window[1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inside = [r for rs in results for r in rs if window[0] <= r[0] < window[1]]
    ok = sorted(lat for _, lat, status in inside if status in (200, 201))
    statuses: dict[str, int] = {}
    for *_, status in (r for rs in results for r in rs):
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    print(json.dumps({
        "ok": len(ok), "window_s": args.duration, "rps": len(ok) / args.duration,
        "p50_ms": percentile(ok, 50) * 1000, "p99_ms": percentile(ok, 99) * 1000,
        "mean_ms": (statistics.fmean(ok) * 1000) if ok else None,
        "statuses": statuses, "total": sum(len(rs) for rs in results),
        "client_cpu_share": (cpu.get("end", 0) - cpu.get("start", 0)) / args.duration,
    }))


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [float(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def run_load(server: Server, args: argparse.Namespace, tag: str,
             signature: str = "v1") -> dict[str, Any]:
    cpu_before = server.cpu_seconds()
    busy_before = machine_busy()
    done = subprocess.run(
        [sys.executable, __file__, "load", "--port", str(server.port),
         "--clients", str(args.clients), "--duration", str(args.duration),
         "--warmup", str(args.warmup), "--tag", tag, "--signature", signature],
        capture_output=True, text=True, timeout=args.warmup + args.duration + 120,
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    used = server.cpu_seconds() - cpu_before
    busy_after = machine_busy()
    result["machine_busy"] = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
    result["server_cpu_ms_per_request"] = used * 1000 / max(result["total"], 1)
    return result


# -- the comparison --------------------------------------------------------------------------

def run_target(kind: str, target: str, args: argparse.Namespace, workdir: Path,
               n: int, signature: str = "v1") -> dict[str, Any]:
    """One measurement of one target on a fresh database."""
    from hoster_compliance.issuer import CallbackServer

    label = target if signature == "v1" else f"{target}[{signature}]"
    db_url = fresh_database(kind, workdir, f"hc_bench_{target.replace('+', '_')}_{signature}_{n}")
    port = free_port()
    log = workdir / f"{kind}-{target}-{signature}-{n}.log"
    callbacks = CallbackServer(SECRET) if signature == "v1" else CallbackServer(
        public_keys=[ed25519.parse_signing_key(HOSTER_KEY).public_key()])
    with callbacks as issuer:
        if target == "minimal":
            server = minimal_server(db_url, port, log, args.processes, args.threads)
        else:
            config = write_config(workdir / f"{kind}-{target}-{signature}.toml", db_url,
                                  issuer.url, signature)
            server = hoster_server(config, port, log, args.processes, args.threads,
                                   worker=target == "serve+worker")
        with server:
            tag = f"{kind}-{target.replace('+', '-')}-{signature}-{time.time_ns()}"
            result = run_load(server, args, tag=tag, signature=signature)
        if target == "serve+worker":
            result["acknowledged"] = sum(1 for r in issuer.received if r.status == 200)
            result["refused_callbacks"] = sum(1 for r in issuer.received if not r.verified)
    if kind == "postgresql":
        drop_database(db_url.rsplit("/", 1)[1])
    print(f"{kind:10} {label:17} {result['rps']:7.1f} orders/s  "
          f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
          f"server CPU {result['server_cpu_ms_per_request']:5.2f} ms/req  "
          f"client CPU {result['client_cpu_share']:.0%}  "
          f"machine busy {result['machine_busy']:.0%}  {result['statuses']}", flush=True)
    return result


def bench_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every target (the serve targets once per signature), ``rounds`` times, interleaved (so
    that background noise hits all alike); the median round of each is its figure."""
    runs = [(t, "v1") for t in args.targets.split(",")]
    runs += [(t, sig) for t in args.targets.split(",") if t != "minimal"
             for sig in args.signatures.split(",") if sig != "v1"]
    runs.sort(key=lambda run: args.targets.split(",").index(run[0]))
    rounds: dict[str, list[dict[str, Any]]] = {}
    for n in range(args.rounds):
        for target, signature in runs:
            label = target if signature == "v1" else f"{target}[{signature}]"
            rounds.setdefault(label, []).append(
                run_target(kind, target, args, workdir, n, signature))
    out: dict[str, Any] = {}
    for label, results in rounds.items():
        median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
        out[label] = {**median, "rounds_rps": [r["rps"] for r in results]}
    for label in out:
        if label != "minimal" and "minimal" in out:
            out[label]["vs_minimal"] = out[label]["rps"] / out["minimal"]["rps"]
        target, _, signature = label.partition("[")
        if signature and target in out:
            out[label]["vs_v1"] = out[label]["rps"] / out[target]["rps"]
    for label, r in out.items():
        ratio = f"  {r['vs_minimal']:.0%} of minimal" if "vs_minimal" in r else ""
        ratio += f"  {r['vs_v1']:.0%} of v1" if "vs_v1" in r else ""
        print(f"MEDIAN {kind:10} {label:17} {r['rps']:7.1f} orders/s  p50 {r['p50_ms']:.1f} ms"
              f"  p99 {r['p99_ms']:.1f} ms  server CPU {r['server_cpu_ms_per_request']:.2f} "
              f"ms/req{ratio}", flush=True)
    return out


def drop_database(name: str) -> None:
    admin = make_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--targets", default="minimal,serve,serve+worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signatures", default="v1",
                        help="v1 (HMAC), v1a (Ed25519) or v1,v1a (both, interleaved)")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if not set(args.signatures.split(",")) <= {"v1", "v1a"}:
        parser.error("--signatures: v1, v1a or v1,v1a")
    os.environ[HOSTER_KEY_ENV] = HOSTER_KEY  # the servers' signing key, for v1a callbacks
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    info = machine()
    if "postgresql" in args.databases:
        info += f", PostgreSQL {postgres_version()}"
    print(info, flush=True)
    results: dict[str, Any] = {"machine": info, "settings": vars(args)}
    with tempfile.TemporaryDirectory(prefix="hc-bench-") as tmp:
        for kind in args.databases.split(","):
            results[kind] = bench_database(kind, args, Path(tmp))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
