"""The transaction a batch of orders is written in (``orders.intake.commit_orders``).

On PostgreSQL, in the group commit thread, the connection is one that thread keeps for its
life (``group_commit.committer_resources``): no pool checkout, pre-ping and check-in for every
batch, which cost a round trip and measurable CPU per batch (BENCHMARKS.md). Elsewhere, and on
SQLite, it is an ordinary ``engine.begin()``.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .group_commit import committer_resources

log = logging.getLogger(__name__)


class _KeptConnection:
    """The committer thread's connection, and the pool it came from."""

    def __init__(self, engine: Engine) -> None:
        self.pool = engine.pool
        self.conn = engine.connect()

    def usable(self, engine: Engine) -> bool:
        """Still of the engine's pool, open, and silent: an idle connection the server wrote
        to (a termination notice on a restart, say) or hung up is dropped before the batch,
        as the pool's pre-ping would, without a round trip."""
        if engine.pool is not self.pool or self.conn.closed or self.conn.invalidated:
            return False
        driver = self.conn.connection.driver_connection
        if driver is None or driver.closed:
            return False
        poll = select.poll()
        poll.register(driver.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poll.poll(0)

    def close(self) -> None:
        """Back to its pool; or closed for good if that pool was disposed of meanwhile (given
        back, it would stay open in a pool nobody uses)."""
        if self.pool is not self.conn.engine.pool and not self.conn.closed:
            self.conn.invalidate()
        self.conn.close()


@contextmanager
def batch_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction for a batch (committed at the end of the block, rolled back on an error).

    On PostgreSQL, in the group commit thread, on a connection that thread keeps for its life
    (``committer_resources``): no pool checkout, pre-ping and check-in for every batch. A
    connection whose transaction failed, for whatever reason, is given back and the next batch
    takes a fresh one from the pool (pinged), so a broken connection is never used twice."""
    kept = committer_resources() if engine.dialect.driver == "psycopg" else None
    if kept is None:
        with engine.begin() as conn:
            yield conn
        return
    held = kept.pop(engine, None)
    if held is not None and not held.usable(engine):
        held.close()
        held = None
    if held is None:
        held = _KeptConnection(engine)
    try:
        with held.conn.begin():
            yield held.conn
    except BaseException:
        try:
            held.close()
        except Exception:  # noqa: BLE001 - the batch's own error is the one to raise
            log.warning("closing a failed connection raised", exc_info=True)
        raise
    kept[engine] = held
