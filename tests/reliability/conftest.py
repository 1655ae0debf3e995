"""Fixtures of the reliability tests: a database per test (a SQLite file, or a dedicated
PostgreSQL database, so that processes under test and ALTER DATABASE never disturb `test`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DATABASES
from tests.helpers.processes import drop_pg_database, recreate_pg_database


def _db_name(request: pytest.FixtureRequest) -> str:
    return "hc_rel_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]


@pytest.fixture(params=DATABASES)
def rel_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the parametrised kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hc.db'}"
        return
    name = _db_name(request)
    yield recreate_pg_database(name)
    drop_pg_database(name)


@pytest.fixture
def pg_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty PostgreSQL database (the test is skipped where PostgreSQL is absent)."""
    if "postgresql" not in DATABASES:
        pytest.skip("PostgreSQL is not available")
    name = _db_name(request)
    yield recreate_pg_database(name)
    drop_pg_database(name)
