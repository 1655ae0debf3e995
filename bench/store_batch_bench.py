"""What group commit saves: CPU and wall time per order of storing orders in batches of a given
size (``intake.commit_orders``: one transaction per batch, with items, acknowledgements and
audit events), in process, without HTTP. Unlike the ingest benchmark it hardly depends on
what else the machine is doing (CPU time of this process only), so it shows the effect of a
change in the store code clearly.

    python bench/store_batch_bench.py [--databases sqlite,postgresql] [--orders 4000]
        [--sizes 1,2,4,8,16]

Orders are validated and prepared before the clock starts (as the request threads do);
each batch size runs on a fresh database. Never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from hoster_compliance.config import load_config
from hoster_compliance.orders import intake
from hoster_compliance.protocol import schemas_in as schemas
from hoster_compliance.service import ComplianceService
from hoster_compliance.timeutil import utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import ISSUER, fresh_database, machine, order_body, write_config  # noqa: E402


def measure(kind: str, workdir: Path, orders: int, size: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per order for batches of ``size``."""
    url = fresh_database(kind, workdir, f"hc_batch_{size}")
    config = load_config(str(write_config(workdir / f"batch_{size}.toml", url,
                                          "http://127.0.0.1:9")))
    service = ComplianceService(config)
    issuer = config.issuer(ISSUER)
    assert issuer is not None
    prepared = []
    for _ in range(orders + 50):
        now = utcnow()
        data = json.loads(order_body(uuid.uuid4().hex, time.time()))["data"]
        loaded = schemas.load_order_created(data, now=now)
        prepared.append(intake.prepare_order(config, issuer, data, loaded, now))
    for new in prepared[:50]:  # warm-up: connections, statement caches
        intake.commit_orders(service.engine, [new])
    prepared = prepared[50:]
    batches = [prepared[i:i + size] for i in range(0, len(prepared), size)]
    cpu, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        for outcome in intake.commit_orders(service.engine, batch):
            assert not isinstance(outcome, BaseException) and outcome[0] == 201
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    service.engine.dispose()
    return cpu * 1000 / orders, wall * 1000 / orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--sizes", default="1,2,4,8,16")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                cpu, wall = measure(kind, Path(tmp), args.orders, size)
                print(f"{kind:10s} batch {size:3d}: CPU {cpu:.3f} ms/order, "
                      f"wall {wall:.3f} ms/order", flush=True)


if __name__ == "__main__":
    main()
