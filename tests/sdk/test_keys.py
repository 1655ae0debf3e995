"""Keys kept in the database (store/keys.py): made once, whoever asks first; the same for every
process; the dashboard's session key comes from there unless configured."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import sqlalchemy as sa

from hoster_compliance.config import Config
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.keys import shared_key
from hoster_compliance.store.tables import local_keys
from tests.helpers import FakeClock


def test_many_callers_at_once_get_one_key(db_url: str, service: ComplianceService) -> None:
    engines = [make_engine(db_url) for _ in range(6)]
    made: list[str] = []
    results: list[str] = []
    start = threading.Barrier(len(engines))

    def maker(n: int) -> Callable[[], str]:
        def make() -> str:
            made.append(f"key-{n}")
            return f"key-{n}"
        return make

    def run(n: int) -> None:
        start.wait()
        results.append(shared_key(engines[n], "k", maker(n), 0))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == len(engines) and len(set(results)) == 1
    assert results[0] in made
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(local_keys.c.value)).scalars().all() == [results[0]]
    for engine in engines:
        engine.dispose()


def test_the_dashboard_key_is_random_and_kept(service: ComplianceService, config: Config,
                                              clock: FakeClock) -> None:
    first = service.dashboard_secret()
    assert len(first) == 64 and int(first, 16) >= 0
    other = ComplianceService(config, clock=clock)
    assert other.dashboard_secret() == first
    configured = ComplianceService(dataclasses.replace(config, dashboard_secret="c" * 32),
                                   engine=service.engine, clock=clock)
    assert configured.dashboard_secret() == "c" * 32
    other.engine.dispose()
