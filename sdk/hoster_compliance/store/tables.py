"""The schema, in SQLAlchemy Core. Times are integer microseconds since the Unix epoch (UTC):
exact, ordered, portable between SQLite and PostgreSQL, and cheap to subtract in report SQL.
Booleans are stored as booleans; JSON documents as text (canonical JSON where compared)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)

metadata = MetaData()

# The schema version this code writes; bumped with every migration (see store/migrations.py).
SCHEMA_VERSION = 7

#: The audit chain's hash before its first event (``chain_head`` of an empty trail).
GENESIS_HASH = "0" * 64

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer_id", String(128), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),  # order | notice | own_initiative
    Column("regime", String(32), nullable=False),
    Column("category", String(128), nullable=False),
    Column("subcategory", String(128)),
    Column("subcategory_other", Text),
    Column("issuer_member_state", String(8), nullable=False),
    Column("trusted_flagger", Boolean, nullable=False, default=False),
    Column("confidential", Boolean, nullable=False, default=False),
    Column("preserve_for_days", Integer),
    Column("issued_at", BigInteger, nullable=False),
    Column("deadline", BigInteger),  # null: no deadline (regime OTHER, none given)
    Column("data", Text, nullable=False),  # canonical JSON of the order's `data`, as received
    Column("status", String(16), nullable=False),  # open | completed | withdrawn
    Column("received_at", BigInteger, nullable=False),
    Column("acknowledged_at", BigInteger),
    Column("completed_at", BigInteger),  # when the last item got its action
    Column("effect_given_at", BigInteger),
    Column("withdrawn_at", BigInteger),
    Column("withdrawn_reason", Text),
    Column("items_total", Integer, nullable=False),
    Column("items_resolved", Integer, nullable=False, default=0),
    # Automation hooks (automation.py): pending until the handlers have run once, after commit.
    Column("automation_state", String(16)),  # pending | done
    Column("automation_lease_until", BigInteger),
    # Notices from anyone (PROTOCOL 10): the notifier's name and e-mail (personal data: shown in
    # the order detail and used for the two messages only, erased after the retention period),
    # and sha256(client, canonical JSON) to answer a repeat within 24 h with the first notice.
    Column("notifier_name", Text),
    Column("notifier_email", Text),
    Column("submission_key", String(64)),
    # Alerts (alerts/): when the next time-based event (due_soon, then overdue) is due, null
    # when none is left; and, while automation handlers may still complete a new order, when
    # its `received` alert is raised regardless (null: nothing held back).
    Column("alert_due_at", BigInteger),
    Column("alert_hold_until", BigInteger),
    UniqueConstraint("issuer_id", "order_id", name="uq_orders_issuer_order"),
)
Index("ix_orders_received_at", orders.c.received_at)
Index("ix_orders_status_deadline", orders.c.status, orders.c.deadline)
Index("ix_orders_automation", orders.c.automation_state)
Index("ix_orders_submission_key", orders.c.submission_key)
Index("ix_orders_alert_due", orders.c.alert_due_at)
Index("ix_orders_alert_hold", orders.c.alert_hold_until)

#: Where listings sort an order without a deadline: after every deadline.
NO_DEADLINE_SORT = 2**62


def listing_sort_key() -> ColumnElement[int]:
    """The deadline listings sort by (none last). Written with the number inline, not as a
    bound parameter, so that it is the expression of the listing indexes below."""
    return func.coalesce(orders.c.deadline, literal_column(str(NO_DEADLINE_SORT)))


# Listings, deadline first (GET /v1/orders, the dashboard): one page is an index range read,
# not a sort of every order (BENCHMARKS.md, "Dashboard").
listing_indexes = (
    Index("ix_orders_listing", listing_sort_key(), orders.c.received_at, orders.c.id),
    Index("ix_orders_status_listing", orders.c.status, listing_sort_key(),
          orders.c.received_at, orders.c.id),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_pk", Integer, ForeignKey("orders.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("url", Text, nullable=False),
    Column("content_hash_algorithm", String(16)),
    Column("content_hash_value", String(256)),
    Column("note", Text),
    Column("action", String(16)),  # null until acted on
    Column("acted_at", BigInteger),
    Column("reason", Text),
    Column("basis", String(8)),  # law | terms
    Column("automated", Boolean),
    Column("effect_given", Boolean),
    Column("preserve_until", BigInteger),
    Column("actor", String(200)),
    # v1.1 (PROTOCOL 4, 11.2): an earlier action undone (notices, own-initiative entries). The
    # action above stays as it was recorded: the report counts it and its reversal.
    Column("reinstated_at", BigInteger),
    Column("reinstated_reason", Text),
    UniqueConstraint("order_pk", "item_id", name="uq_items_order_item"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_pk", Integer, ForeignKey("orders.id"), nullable=False),
    Column("issuer_id", String(128), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("type", String(32), nullable=False),  # order.acknowledged | order.outcome
    # Where it goes: ``issuer:<issuer_id>`` for callbacks (store.orders.issuer_destination).
    # At most one worker sends to a destination at a time (delivery/outbox.py), so a slow
    # endpoint holds one delivery thread, never all of them.
    Column("destination", String(160), nullable=False),
    Column("path", Text, nullable=False),  # appended to the issuer's configured api_base
    Column("webhook_id", String(64), nullable=False, unique=True),
    Column("body", Text, nullable=False),  # the exact JSON sent on every attempt
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("next_attempt_at", BigInteger),
    Column("lease_until", BigInteger),  # a worker's claim; expired leases are taken over
    Column("lease_owner", String(64)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", BigInteger),
    Column("give_up_at", BigInteger, nullable=False),
    # Alerts share the outbox: `channel` names the [[alerts]] channel (null: a callback to the
    # issuer), `type` is `alert.<event>`, `body` the alert's facts (never a channel's secret),
    # and `alert_key` makes each (channel, event, order) alert unique.
    Column("channel", String(64)),
    Column("alert_key", String(255)),
)
Index("ix_deliveries_due", deliveries.c.state, deliveries.c.next_attempt_at)
Index("ix_deliveries_order", deliveries.c.order_pk)
Index("ux_deliveries_alert_key", deliveries.c.alert_key, unique=True)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_pk", Integer),  # null for events about no single order
    Column("at", BigInteger, nullable=False),
    Column("type", String(48), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_events_order", events.c.order_pk)

# One row holding the hash of the newest event: appending locks it, which serialises the chain
# on PostgreSQL (SQLite's BEGIN IMMEDIATE serialises writers already).
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("event_id", Integer),
)

# Keys this installation made for itself, by name: "dashboard_session" signs the dashboard's
# session cookies and CSRF tokens when no dashboard_secret_env is configured. One row each, made
# once (the first process to ask inserts it; the others read it), so every process and machine
# shares it.
local_keys = Table(
    "local_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# The public notice endpoints' rate limit (PROTOCOL 10.2), shared by every process and machine:
# notices stored per client (sha256 of its address, never the address) per hour window.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("hour", BigInteger, primary_key=True),  # Unix time // 3600
    Column("count", Integer, nullable=False),
)

# Background workers announce themselves here (``role``: ``automation``) while they run, so that
# other processes can tell whether automation handlers will look at a new order.
workers = Table(
    "workers",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("seen_until", BigInteger, nullable=False),
)
