"""Shared fixtures (helpers to import are in tests/helpers): a real database (SQLite file, and
PostgreSQL when it answers), a config with two issuers, an injectable clock, the service, the Flask
app, a live receiver on loopback, a fake issuer (CallbackServer) that verifies our callbacks, an
empty report database and the Commission's templates as reference data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import Engine

from hoster_compliance.config import Config
from hoster_compliance.config_hashcheck import HashcheckConfig
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.engine import init_schema, make_engine
from hoster_compliance.store.tables import metadata
from hoster_compliance_receiver import create_app
from tests.helpers import (
    DATABASES,
    ISSUER_SECRET,
    POSTGRES_URL,
    SECRETS,
    TEMPLATES,
    FakeClock,
    LiveServer,
    make_config,
)
from tests.helpers.databases import empty_postgres

# Hypothesis' per-example deadline is a timed assertion: on a shared 2-core machine it fails
# properties that hold (a 253 ms example against 200 ms). Speed is measured in bench/, not here.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own (created and dropped here), so parallel
    runs on one server never see each other's tables."""
    name = f"hc_test_{os.getpid()}"
    admin = sa.create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema ``init_schema`` creates and no rows, made once: copying it
    costs a millisecond, creating the schema tens."""
    path = tmp_path_factory.mktemp("schema") / "hc.db"
    engine = make_engine(f"sqlite:///{path}")
    init_schema(engine)
    engine.dispose()
    return path


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh database with the schema freshly created and no rows: a new SQLite file (a copy
    of ``sqlite_schema``), or this session's PostgreSQL database emptied (``empty_postgres``).
    A test of what creates the tables takes ``empty_db_url``."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), tmp_path / "hc.db")
        yield f"sqlite:///{tmp_path / 'hc.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    yield url


@pytest.fixture(params=DATABASES)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database without tables, for a test of what creates them (or must not): a new SQLite
    file, or this session's PostgreSQL database with every table dropped."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hc.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_issuer(clock: FakeClock) -> Iterator[CallbackServer]:
    """The issuer's callback endpoint on loopback, verifying our signatures (on the fake clock,
    like the receiver under test); each test issuer signs with its own secret (13.3)."""
    with CallbackServer(list(SECRETS.values()), clock=clock.timestamp) as server:
        yield server


@pytest.fixture
def config(db_url: str, fake_issuer: CallbackServer) -> Config:
    return make_config(db_url, api_base=fake_issuer.url)


@pytest.fixture
def service(config: Config, clock: FakeClock) -> Iterator[ComplianceService]:
    svc = ComplianceService(config, clock=clock)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def own(db_url: str, clock: FakeClock) -> Iterator[ComplianceService]:
    """A service with ``[hashcheck]`` (the list ``known.txt``), for own-initiative entries."""
    config = make_config(db_url, hashcheck=HashcheckConfig(lists=("known.txt",)))
    svc = ComplianceService(config, clock=clock)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def worker(service: ComplianceService, clock: FakeClock) -> DeliveryWorker:
    """A delivery worker the test drives with ``run_once``; no jitter (max delay)."""
    return DeliveryWorker(service.config, service.engine, clock=clock, uniform=lambda a, b: b)


@pytest.fixture
def app(service: ComplianceService) -> Any:
    flask_app = create_app(service.config, service=service)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def sender_for(clock: FakeClock) -> Any:
    """Build an IssuerSender whose signatures use the fake clock, for a base URL."""
    senders: list[IssuerSender] = []

    def build(base_url: str, issuer_id: str = "nl-atkm", secret: str | None = None,
              **kwargs: Any) -> IssuerSender:
        sender = IssuerSender(base_url, issuer_id, secret or SECRETS.get(issuer_id, ISSUER_SECRET),
                              clock=clock.timestamp, **kwargs)
        senders.append(sender)
        return sender

    yield build
    for sender in senders:
        sender.close()


@pytest.fixture
def live_receiver(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def report_engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with the schema created (``db_url`` of tests/conftest.py:
    a SQLite file, and PostgreSQL when it answers)."""
    engine = make_engine(db_url)
    init_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def commission_template() -> Callable[[str], Path]:
    """The reference data of the tests: ``commission_template("Part_3_")`` is the path of the
    Commission's template file whose name holds that text (``"Annex_II"``: the instructions),
    from the one copy in the repository, which the package reads too (SHA256SUMS pins it)."""

    def find(part: str) -> Path:
        matches = sorted(TEMPLATES.glob(f"*{part}*"))
        assert len(matches) == 1, (part, matches)
        return matches[0]

    return find
