"""The audit trail as evidence (PROTOCOL 13.4): what the events that change an order hold, and
the replay that recomputes an order's and its items' state from them.

Recording and replaying share this module, so that what an event holds and what the replay reads
cannot drift apart. Everything here is pure (no database, no clock): ``orders/trail.py`` streams
the stored rows to :func:`replay` and :func:`differences`.

The events that change what a report or a callback reads:

- ``received``: every column of the order fixed at receipt (kind, regime, deadline, category,
  ...), the SHA-256 of its stored ``data`` and of its items' ids, URLs, hashes and notes.
  Events written before v1.1 hold only ``kind``, ``regime``, ``items`` and ``deadline``: the
  other fixed columns of such orders cannot be recomputed and are not compared (``complete``
  is false); everything that changes later still is.
- ``action``: one item's action, ``acted_at``, ``reason``, ``basis``, ``automated``; the actor
  is the event's. ``effect_given`` and ``preserve_until`` follow from them (``orders/rules.py``,
  the rules the code records them by).
- ``completed``: every item has an action; ``completed_at`` and ``effect_given_at`` follow from
  the items' actions.
- ``reinstated``: an effect-giving action undone (notices and own-initiative entries): the
  item's ``reinstated_at`` (the detail's ``acted_at``) and ``reinstated_reason``; the action
  itself stays recorded.
- ``withdrawn``: the order's ``withdrawn_at`` (the event's time) and ``reason``.
- ``acknowledged``: the issuer took the acknowledgement; the first one's time is
  ``acknowledged_at``.

Other events (``duplicate_delivery``, ``outcome_delivered``, ``delivery_failed``, ``retried``,
``automation_failed``, ...) change nothing a report reads and are not replayed. A feature that
adds a state change adds its event here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..store.audit import canonical_json
from ..timeutil import format_micros, from_micros, parse_time, to_micros
from . import rules

RECEIVED = "received"
ACTION = "action"
COMPLETED = "completed"
WITHDRAWN = "withdrawn"
ACKNOWLEDGED = "acknowledged"
REINSTATED = "reinstated"
#: The event types that change an order's or an item's state.
STATE_EVENTS = (RECEIVED, ACTION, COMPLETED, WITHDRAWN, ACKNOWLEDGED, REINSTATED)

#: Columns of ``orders`` fixed at receipt, held by the ``received`` event (times as RFC 3339).
FIXED_COLUMNS = (
    "issuer_id", "order_id", "kind", "regime", "category", "subcategory", "subcategory_other",
    "issuer_member_state", "trusted_flagger", "confidential", "preserve_for_days", "issued_at",
    "deadline",
)
#: Columns of ``items`` fixed at receipt, covered by ``items_sha256`` (in position order).
ITEM_FIXED_COLUMNS = ("item_id", "url", "content_hash_algorithm", "content_hash_value", "note")
#: Columns of ``items`` an action writes.
ITEM_STATE_COLUMNS = ("action", "acted_at", "reason", "basis", "automated", "effect_given",
                      "preserve_until", "actor", "reinstated_at", "reinstated_reason")
_TIMES = frozenset({"issued_at", "deadline", "received_at", "acknowledged_at", "completed_at",
                    "effect_given_at", "withdrawn_at", "acted_at", "preserve_until",
                    "reinstated_at"})
_NO_ACTION: dict[str, Any] = dict.fromkeys(ITEM_STATE_COLUMNS)


# -- what the events hold -------------------------------------------------------------------

def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def items_digest(item_rows: Iterable[Mapping[str, Any]]) -> str:
    """The SHA-256 of the items' fixed columns, in the order given (their positions)."""
    return sha256_hex(canonical_json([[row[c] for c in ITEM_FIXED_COLUMNS] for row in item_rows]))


def received_detail(row: Mapping[str, Any], item_rows: Sequence[Mapping[str, Any]]) -> dict[
        str, Any]:
    """The ``received`` event's detail for an ``orders`` row (as inserted: ``data`` is the
    canonical JSON stored) and its item rows in position order."""
    detail = {column: row[column] for column in FIXED_COLUMNS}
    for column in ("issued_at", "deadline"):
        detail[column] = format_micros(row[column])
    detail.update(items=len(item_rows), data_sha256=sha256_hex(row["data"]),
                  items_sha256=items_digest(item_rows))
    return detail


def action_detail(
    *, item_id: str, action: str, acted_at: int, reason: str | None, basis: str, automated: bool
) -> dict[str, Any]:
    """The ``action`` event's detail for one item."""
    return {"item_id": item_id, "action": action, "acted_at": format_micros(acted_at),
            "reason": reason, "basis": basis, "automated": automated}


# -- replay ---------------------------------------------------------------------------------

class TrailEvent(NamedTuple):
    """What the replay reads of one stored event (``detail`` parsed)."""

    at: int
    type: str
    actor: str
    detail: Mapping[str, Any]


@dataclass
class Expected:
    """An order's state as its events give it: ``order`` and ``items`` map columns to values
    (only the columns the events determine; an item without an action event has none);
    ``problems`` are events that contradict each other."""

    order: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_sha256: str | None = None
    items_sha256: str | None = None
    complete: bool = False  # the received event held every fixed column (v1.1 and later)
    problems: list[str] = field(default_factory=list)


def _micros(text: Any) -> int | None:
    return None if text is None else to_micros(parse_time(text))


class _Replay:
    def __init__(self) -> None:
        self.expected = Expected()
        self.status: str | None = None
        self.completed: tuple[int | None, int | None] | None = None
        self.acknowledged: int | None = None
        self.withdrawn: tuple[int, Any] | None = None

    def received(self, event: TrailEvent) -> None:
        if self.status is not None:
            raise _Contradiction("a second received event")
        detail, order = event.detail, self.expected.order
        order.update(received_at=event.at, kind=detail["kind"], regime=detail["regime"],
                     items_total=detail["items"], deadline=_micros(detail["deadline"]))
        if "data_sha256" in detail:
            for column in FIXED_COLUMNS:
                order[column] = _micros(detail[column]) if column in _TIMES else detail[column]
            self.expected.data_sha256 = detail["data_sha256"]
            self.expected.items_sha256 = detail["items_sha256"]
            self.expected.complete = True
        self.status = "open"

    def action(self, event: TrailEvent) -> None:
        if self.status == "withdrawn":
            raise _Contradiction("an action after the withdrawal")
        detail = event.detail
        acted_at = _micros(detail["acted_at"])
        assert acted_at is not None
        action = detail["action"]
        state = {"action": action, "acted_at": acted_at, "reason": detail["reason"],
                 "basis": detail["basis"], "automated": bool(detail["automated"]),
                 "effect_given": rules.gives_effect(action), "actor": event.actor,
                 "reinstated_at": None, "reinstated_reason": None}
        if self.expected.complete:
            acted = from_micros(acted_at)
            assert acted is not None
            preserve = rules.preserve_until(action, acted,
                                            self.expected.order["preserve_for_days"])
            state["preserve_until"] = None if preserve is None else to_micros(preserve)
        self.expected.items[detail["item_id"]] = state

    def reinstate(self, event: TrailEvent) -> None:
        detail = event.detail
        item = self.expected.items.get(detail["item_id"])
        if item is None:
            raise _Contradiction(f"a reinstatement of item {detail['item_id']} without an action")
        item.update(reinstated_at=_micros(detail["acted_at"]),
                    reinstated_reason=detail["reason"])

    def complete(self, event: TrailEvent) -> None:
        if self.status != "open":
            raise _Contradiction(f"a completed event on a {self.status} order")
        acted = self.expected.items.values()
        total = self.expected.order["items_total"]
        if len(acted) != total:
            raise _Contradiction(f"completed with {len(acted)} of {total} items acted on")
        done = rules.completion([(i["action"], i["acted_at"], i["effect_given"])
                                 for i in acted])
        self.completed = (done.completed_at, done.effect_given_at)
        self.status = "completed"

    def withdraw(self, event: TrailEvent) -> None:
        if self.status == "withdrawn":
            raise _Contradiction("a second withdrawn event")
        self.withdrawn = (event.at, event.detail.get("reason"))
        self.status = "withdrawn"

    def acknowledge(self, event: TrailEvent) -> None:
        if self.acknowledged is None:  # a later delivery of the same message changes nothing
            self.acknowledged = event.at

    def finish(self) -> Expected:
        expected = self.expected
        if self.status is None:
            expected.problems.append("no received event: the order is not in the trail")
            return expected
        completed_at, effect_at = self.completed or (None, None)
        withdrawn_at, reason = self.withdrawn or (None, None)
        expected.order.update(
            status=self.status, items_resolved=len(expected.items), completed_at=completed_at,
            effect_given_at=effect_at, acknowledged_at=self.acknowledged,
            withdrawn_at=withdrawn_at, withdrawn_reason=reason,
        )
        return expected


class _Contradiction(Exception):
    pass


def replay(events: Iterable[TrailEvent]) -> Expected:
    """Recompute one order's state from its events, oldest first."""
    state = _Replay()
    steps = {RECEIVED: state.received, ACTION: state.action, COMPLETED: state.complete,
             WITHDRAWN: state.withdraw, ACKNOWLEDGED: state.acknowledge,
             REINSTATED: state.reinstate}
    for event in events:
        step = steps.get(event.type)
        if step is None:
            continue
        if state.status is None and event.type != RECEIVED:
            state.expected.problems.append(f"the trail holds {event.type!r} before 'received'")
            continue
        try:
            step(event)
        except _Contradiction as exc:
            state.expected.problems.append(f"the trail holds {exc} ({_show('at', event.at)})")
        except (KeyError, TypeError, ValueError, AssertionError):
            state.expected.problems.append(
                f"the trail holds {event.type!r} ({_show('at', event.at)}) with an unreadable "
                "detail")
    return state.finish()


# -- comparison -----------------------------------------------------------------------------

def _show(column: str, value: Any) -> str:
    if value is None:
        return "none"
    if (column in _TIMES or column == "at") and isinstance(value, int):
        return str(format_micros(value))
    return repr(value)


def _differs(column: str, stored: Any, expected: Any) -> str:
    return (f"{column} is {_show(column, stored)} in the table, "
            f"{_show(column, expected)} by the trail")


def differences(
    expected: Expected, order_row: Mapping[str, Any], item_rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str | None, str]]:
    """Where the stored order (and its items, any order) differ from what its events give:
    ``(item_id or None, what)``, empty when they agree."""
    found: list[tuple[str | None, str]] = [(None, p) for p in expected.problems]
    for column, value in expected.order.items():
        if order_row[column] != value:
            found.append((None, _differs(column, order_row[column], value)))
    if expected.data_sha256 is not None and sha256_hex(order_row["data"]) != expected.data_sha256:
        found.append((None, "data is not what was received (its SHA-256 differs from the "
                            "received event's)"))
    ordered = sorted(item_rows, key=lambda r: r["position"])
    total = expected.order.get("items_total")
    if total is not None and len(ordered) != total:
        found.append((None, f"{len(ordered)} items in the table, {total} by the trail"))
    if expected.items_sha256 is not None and items_digest(ordered) != expected.items_sha256:
        found.append((None, "the items' ids, URLs, content hashes or notes are not what was "
                            "received (their SHA-256 differs from the received event's)"))
    for row in ordered:
        wanted = expected.items.get(row["item_id"], _NO_ACTION)
        for column, value in wanted.items():
            if row[column] != value:
                found.append((row["item_id"], _differs(column, row[column], value)))
    stored = {row["item_id"] for row in ordered}
    for item_id in expected.items:
        if item_id not in stored:
            found.append((item_id, "has an action in the trail but is not in the table"))
    return found
