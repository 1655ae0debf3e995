"""Keys this installation makes for itself and keeps in the database (``local_keys``), so that
every process and machine sharing the database uses the same one."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .tables import local_keys


def shared_key(engine: Engine, name: str, make: Callable[[], str], now_micros: int) -> str:
    """The key called ``name``; the first caller stores ``make()``, every later one (in any
    process) reads that. Two processes making it at once: one insert wins, the other reads it."""
    query = sa.select(local_keys.c.value).where(local_keys.c.name == name)
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return str(found)
    try:
        with engine.begin() as conn:
            conn.execute(local_keys.insert().values(name=name, value=make(),
                                                    created_at=now_micros))
    except sa.exc.IntegrityError:
        pass  # another process stored it first: use theirs
    with engine.connect() as conn:
        return str(conn.execute(query).scalar_one())
