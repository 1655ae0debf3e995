"""Shared fixtures: a real database (SQLite file, and PostgreSQL when it answers), a config with
one issuer, an injectable clock, the service, the Flask app, a live receiver on loopback and a
fake issuer (CallbackServer) that verifies our callbacks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from hoster_compliance.config import Config, IssuerConfig
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import metadata
from hoster_compliance_receiver import create_app

POSTGRES_URL = os.environ.get("HC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ISSUER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_b2xkLXNlY3JldC1zdGlsbC1hY2NlcHRlZA=="
TOKEN = "test-operator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


def _postgres_available() -> bool:
    if os.environ.get("HC_TEST_POSTGRES", "1") == "0":
        return False
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.SQLAlchemyError:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL at {POSTGRES_URL} is required in CI") from None
        return False


DATABASES = ["sqlite"] + (["postgresql"] if _postgres_available() else [])


class FakeClock:
    """A settable clock: ``clock()`` returns the current fake time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()


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


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or this session's PostgreSQL database emptied."""
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


def make_config(db_url: str, api_base: str = "http://127.0.0.1:9", **overrides: Any) -> Config:
    issuers = overrides.pop("issuers", None) or (
        IssuerConfig(id="nl-atkm", name="ATKM", member_state="NL",
                     secrets=(OLD_SECRET, ISSUER_SECRET), api_base=api_base,
                     default_regime="NL_ATKM"),
        IssuerConfig(id="offlimits", name="Offlimits", member_state="NL",
                     secrets=(ISSUER_SECRET,), api_base=api_base, default_regime="NL_NTD"),
    )
    return Config(hoster_id="example-hosting", database_url=db_url, operator_tokens=(TOKEN,),
                  issuers=issuers, service_name="Example Hosting",
                  provider_name="Example Hosting B.V.", **overrides)


@pytest.fixture
def fake_issuer(clock: FakeClock) -> Iterator[CallbackServer]:
    """The issuer's callback endpoint on loopback, verifying our signatures (on the fake clock,
    like the receiver under test)."""
    with CallbackServer(ISSUER_SECRET, clock=clock.timestamp) as server:
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


def order_data(order_id: str = "ord-1", **overrides: Any) -> dict[str, Any]:
    """A valid order.created ``data`` (a CSAM order under NL_ATKM)."""
    data: dict[str, Any] = {
        "order_id": order_id,
        "kind": "order",
        "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "Known child sexual abuse material (hash match).",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "issued_at": "2026-11-22T08:55:00Z",
        "items": [
            {"item_id": "i1", "url": "https://files.example-hosting.nl/u/1/a.jpg"},
            {"item_id": "i2", "url": "https://files.example-hosting.nl/u/1/b.jpg"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def sender_for(clock: FakeClock) -> Any:
    """Build an IssuerSender whose signatures use the fake clock, for a base URL."""
    senders: list[IssuerSender] = []

    def build(base_url: str, issuer_id: str = "nl-atkm", secret: str = ISSUER_SECRET,
              **kwargs: Any) -> IssuerSender:
        sender = IssuerSender(base_url, issuer_id, secret, clock=clock.timestamp, **kwargs)
        senders.append(sender)
        return sender

    yield build
    for sender in senders:
        sender.close()


class LiveServer:
    """The real receiver app served over HTTP on a loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def live_receiver(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
