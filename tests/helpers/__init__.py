"""Shared test helpers (no fixtures: those live in the conftest.py files): the test issuer's
secrets and operator token, the databases under test, a settable clock, a configuration with two
issuers, a valid order, and the real receiver served on a loopback port."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.serving import make_server

from hoster_compliance.config import Config, IssuerConfig
from hoster_compliance.store.engine import make_engine

from .served import Served

#: The repository's root (examples/, bench/ and the packaged templates are read from it).
ROOT = Path(__file__).resolve().parents[2]
#: The Commission's transparency-report templates, as the package ships them.
TEMPLATES = ROOT / "sdk" / "hoster_compliance" / "data" / "templates"
POSTGRES_URL = os.environ.get("HC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ISSUER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_b2xkLXNlY3JldC1zdGlsbC1hY2NlcHRlZA=="
#: Offlimits' own secret (PROTOCOL 13.3: no two issuers share one).
OFFLIMITS_SECRET = "whsec_b2ZmbGltaXRzLW93bi1zZWNyZXQtMjAyNg=="
#: Each test issuer's newest secret.
SECRETS = {"nl-atkm": ISSUER_SECRET, "offlimits": OFFLIMITS_SECRET}
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


def make_config(db_url: str, api_base: str = "http://127.0.0.1:9", **overrides: Any) -> Config:
    issuers = overrides.pop("issuers", None) or (
        IssuerConfig(id="nl-atkm", name="ATKM", member_state="NL",
                     secrets=(OLD_SECRET, ISSUER_SECRET), api_base=api_base,
                     default_regime="NL_ATKM"),
        IssuerConfig(id="offlimits", name="Offlimits", member_state="NL",
                     secrets=(OFFLIMITS_SECRET,), api_base=api_base, default_regime="NL_NTD"),
    )
    return Config(hoster_id="example-hosting", database_url=db_url, operator_tokens=(TOKEN,),
                  issuers=issuers, service_name="Example Hosting",
                  provider_name="Example Hosting B.V.", **overrides)


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


class LiveServer(Served):
    """The real receiver app served over HTTP on a loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        super().__init__(self.server)


def write_config_file(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "hoster.toml"
    path.write_text(f'''
hoster_id = "example-hosting"
database_url = "{db_url}"
operator_tokens = ["{TOKEN}"]

[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["{OLD_SECRET}", "{ISSUER_SECRET}"]
api_base = "http://127.0.0.1:9"
default_regime = "NL_ATKM"

[[issuers]]
id = "offlimits"
member_state = "NL"
secrets = ["{OFFLIMITS_SECRET}"]
api_base = "http://127.0.0.1:9"
''')
    return str(path)
