"""Listings deadline first read the listing indexes (migration 3) instead of sorting every
order: SQLite's query plan for each status filter, first page and later pages. (``overdue``
reads the (status, deadline) range and sorts what is overdue: few, one hopes.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hoster_compliance.orders.reads import listing_query
from hoster_compliance.store.engine import init_schema, make_engine

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(("filters", "index"), [
    ({"status": "all"}, "ix_orders_listing"),
    ({"status": "open"}, "ix_orders_status_listing"),
    ({"status": "completed", "cursor": (10**15, 10**15, 5)}, "ix_orders_status_listing"),
    ({"status": "all", "cursor": (2**62, 10**15, 5)}, "ix_orders_listing"),
])
def test_a_page_is_read_from_the_listing_index_without_a_sort(
    tmp_path: Any, filters: dict[str, Any], index: str
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    init_schema(engine)
    query = listing_query(NOW, limit=50, **filters)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = " | ".join(row[-1] for row in conn.execute(
            sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    engine.dispose()
    assert f"USING INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
