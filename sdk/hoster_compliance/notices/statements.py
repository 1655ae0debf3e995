"""Statements of reasons (DSA Art. 17; PROTOCOL 10.3), one per item whose action gave effect.

The fields carry the names and values of the DSA Transparency Database's statement API, so a
hoster that is also an online platform can submit them as they are. Checked against the
database's own source, github.com/digital-services-act/transparency-database,
``app/Models/Statement.php`` (the constants ``DECISION_VISIBILITY_*``, ``DECISION_GROUND_*``,
``SOURCE_*``, ``AUTOMATED_DETECTION_YES/NO`` = ``Yes``/``No``, ``AUTOMATED_DECISION_*``) and its
``EUROPEAN_COUNTRY_CODES`` (ISO 3166 codes: Greece is ``GR`` there, ``EL`` in Eurostat's
codes that this project uses elsewhere). ``url`` and ``redress`` (Art. 17(3)(f)) are ours.

The notifier's own words are never copied into a statement: it goes to the affected customer,
and Art. 17(3)(b) names the notifier only where strictly necessary."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..config import Config
from ..errors import NoStatement, UnknownItem, UnknownOrder
from ..protocol import categories
from ..store.orders import find_item, find_order
from ..store.tables import items, orders
from ..timeutil import from_micros
from ..vocabulary import (
    DISABLED,
    EFFECT_ACTIONS,
    EU,
    EU_TCO,
    GEO_BLOCKED,
    MEMBER_STATES,
    NOTICE,
    ORDER,
    OWN_INITIATIVE,
    REMOVED,
    TERMS,
)

_VISIBILITY = {
    REMOVED: "DECISION_VISIBILITY_CONTENT_REMOVED",
    DISABLED: "DECISION_VISIBILITY_CONTENT_DISABLED",
    GEO_BLOCKED: "DECISION_VISIBILITY_OTHER",
}
_ISO = {"EL": "GR"}  # Eurostat -> ISO 3166 (the Transparency Database's codes)
_PUID_UNSAFE = re.compile(r"[^A-Za-z0-9\-_]")


def puid(issuer_id: str, order_id: str, item_id: str) -> str:
    """``<issuer_id>-<order_id>-<item_id>``, every character outside ``A-Za-z0-9-_`` as ``_``."""
    return _PUID_UNSAFE.sub("_", f"{issuer_id}-{order_id}-{item_id}")


def restriction(item: Any) -> tuple[str, int] | None:
    """The effect-giving action of an item and its time (a later ``reinstated`` leaves it
    recorded: the customer was restricted all the same); None without one."""
    if item.action in EFFECT_ACTIONS:
        return item.action, item.acted_at
    return None


def why_none(order: Any, item: Any) -> str | None:
    """Why no statement is owed for ``item`` of ``order`` (rows), or None when one is."""
    if order.kind == ORDER and order.regime != EU_TCO:
        return ("No statement of reasons: this is an order of an authority (Art. 9 DSA), for "
                "which Art. 17(5) DSA owes none.")
    if order.confidential:
        return ("No statement of reasons: the order is confidential; the uploader must not be "
                "told (Reg. 2021/784 Art. 11(3)).")
    if restriction(item) is None:
        done = item.action or "no action yet"
        return f"No statement of reasons: no effect was given to this item ({done})."
    return None


def _scope(data: dict[str, Any]) -> list[str]:
    scope = data.get("territorial_scope") or [EU]
    states = list(MEMBER_STATES) if EU in scope else scope
    return sorted(_ISO.get(state, state) for state in states)


def _source_type(order: Any) -> str:
    if order.kind == OWN_INITIATIVE:
        return "SOURCE_VOLUNTARY"
    if order.kind == NOTICE:
        return "SOURCE_TRUSTED_FLAGGER" if order.trusted_flagger else "SOURCE_ARTICLE_16"
    return "SOURCE_TYPE_OTHER_NOTIFICATION"


def _category_text(order: Any) -> str:
    try:
        name = categories.category(order.category).label
    except KeyError:
        name = order.category
    if order.subcategory_other:
        return f"{name} ({order.subcategory_other})"
    return name


def build(
    config: Config, order: Any, item: Any, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The statement of reasons for ``item`` of ``order`` (rows); ``NoStatement`` saying why
    when none is owed. ``data``: the order's ``data`` when already parsed."""
    reason = why_none(order, item)
    if reason is not None:
        raise NoStatement(reason)
    found = restriction(item)
    assert found is not None
    action, acted_at = found
    if data is None:
        data = json.loads(order.data)
    when = from_micros(acted_at)
    assert when is not None
    statement: dict[str, Any] = {
        "puid": puid(order.issuer_id, order.order_id, item.item_id),
        "decision_visibility": [_VISIBILITY[action]],
    }
    if action == GEO_BLOCKED:
        statement["decision_visibility_other"] = "geo-blocked in " + ", ".join(_scope(data))
    what = {
        NOTICE: "a notice under Art. 16 DSA" if not order.trusted_flagger
        else "a notice of a trusted flagger (Art. 22 DSA)",
        OWN_INITIATIVE: "the hoster's own detection (a match against a list of known material)",
        ORDER: "a removal order under Regulation (EU) 2021/784",
    }.get(order.kind, order.kind)
    facts = (f"The content at {item.url} was reported through {what} as "
             f"{_category_text(order)}; the hoster reviewed it and {action.replace('_', '-')} "
             f"it on {when.date().isoformat()}.")
    if item.basis == TERMS:
        statement.update(
            decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
            incompatible_content_ground="The hoster's terms of service",
            incompatible_content_explanation=f"Content of the kind {_category_text(order)} "
                                             "is not allowed under the terms of service.",
        )
    else:
        statement.update(
            decision_ground="DECISION_GROUND_ILLEGAL_CONTENT",
            illegal_content_legal_ground=data.get("legal_basis")
            or f"Illegal content: {_category_text(order)}",
            illegal_content_explanation=(
                data.get("statement_of_reasons") if order.kind == ORDER
                else f"The content was found to be illegal as {_category_text(order)}."),
        )
    statement.update(
        category=order.category,
        category_specification=[order.subcategory] if order.subcategory else [],
        territorial_scope=_scope(data),
        application_date=when.date().isoformat(),
        decision_facts=facts,
        source_type=_source_type(order),
        automated_detection="Yes" if order.kind == OWN_INITIATIVE else "No",
        automated_decision="AUTOMATED_DECISION_FULLY" if item.automated
        else "AUTOMATED_DECISION_NOT_AUTOMATED",
        url=item.url,
        redress=data.get("redress") or config.notices.redress,
    )
    return statement


def find(
    conn: Connection, issuer_id: str, order_id: str, item_id: str
) -> tuple[Row[Any], Row[Any]]:
    """The order and item rows; ``UnknownOrder`` / ``UnknownItem`` when absent."""
    if "\x00" in issuer_id + order_id + item_id:  # never stored; PostgreSQL refuses it
        raise UnknownOrder("No such order.")
    order = find_order(conn, issuer_id, order_id)
    if order is None:
        raise UnknownOrder("No such order.")
    item = find_item(conn, order.id, item_id)
    if item is None:
        raise UnknownItem("No such item in this order.")
    return order, item


def for_items(
    conn: Connection, config: Config, issuer_id: str, order_id: str, item_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """For each of ``item_ids`` of one order (in that order, unknown ones left out):
    ``{"item_id", "statement"}`` with the statement of :func:`build`, or ``{"item_id",
    "none_reason"}`` saying why none is owed. One read for the order, one for its items."""
    if "\x00" in issuer_id + order_id:  # never stored; PostgreSQL refuses it
        raise UnknownOrder("No such order.")
    order = find_order(conn, issuer_id, order_id)
    if order is None:
        raise UnknownOrder("No such order.")
    wanted = [i for i in item_ids if "\x00" not in i]
    found = {row.item_id: row for row in conn.execute(
        sa.select(items).where(items.c.order_pk == order.id, items.c.item_id.in_(wanted)))}
    result: list[dict[str, Any]] = []
    data: dict[str, Any] | None = None  # parsed once: a big order's data is long
    for item_id in wanted:
        item = found.get(item_id)
        if item is None:
            continue
        reason = why_none(order, item)
        if reason is not None:
            result.append({"item_id": item_id, "none_reason": reason})
            continue
        if data is None:
            data = json.loads(order.data)
        result.append({"item_id": item_id, "statement": build(config, order, item, data)})
    return result


def in_period(
    conn: Connection, config: Config, start_us: int, end_us: int
) -> Iterator[dict[str, Any]]:
    """Every statement whose restriction was applied in ``[start_us, end_us)``, in time order."""
    query = (
        sa.select(orders, items.c.item_id, items.c.url, items.c.action, items.c.acted_at,
                  items.c.basis, items.c.automated)
        .join(orders, orders.c.id == items.c.order_pk)
        .where(items.c.action.in_(sorted(EFFECT_ACTIONS)), items.c.acted_at >= start_us,
               items.c.acted_at < end_us)
        .order_by(items.c.acted_at, items.c.id)
    )
    for row in conn.execute(query):
        if why_none(row, row) is None:
            yield build(config, row, row)
