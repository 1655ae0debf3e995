"""orders/history.py: the pure replay of an order's events, and the comparison with stored rows
(no database here; tests/sdk/test_audit_trail.py runs it on real stores)."""

from __future__ import annotations

from typing import Any

import pytest

from hoster_compliance.orders import rules
from hoster_compliance.orders.history import (
    TrailEvent,
    action_detail,
    differences,
    received_detail,
    replay,
)
from hoster_compliance.store.audit import canonical_json

H = 3_600_000_000
DAY = 24 * H
T0 = 1_795_338_000_000_000  # 2026-11-22T09:00:00Z


def order_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "issuer_id": "nl-atkm", "order_id": "ord-1", "kind": "order", "regime": "NL_ATKM",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "subcategory": None,
        "subcategory_other": None, "issuer_member_state": "NL", "trusted_flagger": False,
        "confidential": False, "preserve_for_days": 180, "issued_at": T0 - 300_000_000,
        "deadline": T0 + 12 * H, "data": canonical_json({"order_id": "ord-1"}),
        "status": "open", "received_at": T0, "acknowledged_at": None, "completed_at": None,
        "effect_given_at": None, "withdrawn_at": None, "withdrawn_reason": None,
        "items_total": 2, "items_resolved": 0,
    }
    row.update(overrides)
    return row


def item_row(position: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "position": position, "item_id": f"i{position + 1}",
        "url": f"https://files.example-hosting.nl/u/1/{position}.jpg",
        "content_hash_algorithm": None, "content_hash_value": None, "note": None,
        "action": None, "acted_at": None, "reason": None, "basis": None, "automated": None,
        "effect_given": None, "preserve_until": None, "actor": None,
        "reinstated_at": None, "reinstated_reason": None,
    }
    row.update(overrides)
    return row


def received(row: dict[str, Any], items: list[dict[str, Any]]) -> TrailEvent:
    return TrailEvent(row["received_at"], "received", "issuer:nl-atkm",
                      received_detail(row, items))


def action(item_id: str, what: str, at: int, *, reason: str | None = None,
           actor: str = "operator:abc", automated: bool = False) -> TrailEvent:
    return TrailEvent(at + 1, "action", actor, action_detail(
        item_id=item_id, action=what, acted_at=at, reason=reason, basis="law",
        automated=automated))


def acted(row: dict[str, Any], what: str, at: int, actor: str = "operator:abc",
          reason: str | None = None, days: int | None = 180) -> dict[str, Any]:
    effect = what in ("removed", "disabled", "geo_blocked")
    return dict(row, action=what, acted_at=at, reason=reason, basis="law", automated=False,
                effect_given=effect,
                preserve_until=at + days * DAY if effect and days else None,
                actor=actor)


def lifecycle() -> tuple[list[TrailEvent], dict[str, Any], list[dict[str, Any]]]:
    """A received, acknowledged, completed order: its events and the rows the code stores."""
    row, items = order_row(), [item_row(0), item_row(1)]
    trail = [
        received(row, items),
        TrailEvent(T0 + 1_000_000, "acknowledged", "system:outbox", {"delivery_id": 1}),
        TrailEvent(T0 + 2_000_000, "duplicate_delivery", "issuer:nl-atkm", {}),
        action("i1", "removed", T0 + H),
        action("i2", "refused", T0 + 2 * H, reason="manifest error"),
        TrailEvent(T0 + 2 * H + 2, "completed", "system", {"effect_given": True}),
        TrailEvent(T0 + 3 * H, "acknowledged", "system:outbox", {"delivery_id": 1}),
    ]
    items = [acted(items[0], "removed", T0 + H),
             acted(items[1], "refused", T0 + 2 * H, reason="manifest error")]
    row.update(status="completed", items_resolved=2, completed_at=T0 + 2 * H,
               effect_given_at=T0 + H, acknowledged_at=T0 + 1_000_000)
    return trail, row, items


def test_replay_of_a_whole_order_gives_exactly_the_stored_state() -> None:
    trail, row, items = lifecycle()
    expected = replay(trail)
    assert expected.problems == [] and expected.complete
    assert differences(expected, row, items) == []
    assert expected.order["effect_given_at"] == T0 + H  # the latest action that gave effect
    assert expected.order["acknowledged_at"] == T0 + 1_000_000  # the first acknowledgement
    assert expected.items["i1"]["preserve_until"] == T0 + H + 180 * DAY
    assert expected.items["i2"]["preserve_until"] is None  # refused gave no effect


@pytest.mark.parametrize(("column", "value", "said"), [
    ("deadline", T0 + 48 * H, "deadline is 2026-11-24T09:00:00Z in the table, "
                              "2026-11-22T21:00:00Z by the trail"),
    ("status", "open", "status is 'open' in the table, 'completed' by the trail"),
    ("effect_given_at", T0 + 10 * H, "effect_given_at is 2026-11-22T19:00:00Z"),
    ("completed_at", None, "completed_at is none in the table"),
    ("acknowledged_at", T0, "acknowledged_at is 2026-11-22T09:00:00Z"),
    ("items_resolved", 1, "items_resolved is 1"),
    ("category", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "category is "),
    ("issuer_member_state", "DE", "issuer_member_state is 'DE'"),
    ("received_at", T0 + H, "received_at is 2026-11-22T10:00:00Z"),
    ("kind", "notice", "kind is 'notice'"),
    ("data", canonical_json({"order_id": "ord-1", "x": 1}), "data is not what was received"),
])
def test_an_order_column_changed_outside_the_code_is_named(column: str, value: Any,
                                                           said: str) -> None:
    trail, row, items = lifecycle()
    row[column] = value
    [(item_id, problem)] = differences(replay(trail), row, items)
    assert item_id is None and problem.startswith(said)


@pytest.mark.parametrize(("column", "value", "said"), [
    ("action", "not_found", "action is 'not_found' in the table, 'removed' by the trail"),
    ("acted_at", T0 + 30 * 60_000_000, "acted_at is 2026-11-22T09:30:00Z in the table, "
                                       "2026-11-22T10:00:00Z by the trail"),
    ("effect_given", False, "effect_given is False"),
    ("preserve_until", None, "preserve_until is none in the table"),
    ("actor", "automation:x", "actor is 'automation:x'"),
    ("automated", True, "automated is True"),
    ("url", "https://elsewhere.example/", "the items' ids, URLs"),
])
def test_an_item_column_changed_outside_the_code_is_named(column: str, value: Any,
                                                          said: str) -> None:
    trail, row, items = lifecycle()
    items[0][column] = value
    found = differences(replay(trail), row, items)
    assert len(found) == 1 and found[0][1].startswith(said)
    assert found[0][0] == (None if column == "url" else "i1")


def test_an_action_written_only_in_the_table_is_found() -> None:
    trail, row, items = lifecycle()
    trail = trail[:4]  # i2's action and the completion never happened
    row.update(status="open", completed_at=None, effect_given_at=None, items_resolved=2)
    found = differences(replay(trail), row, items)
    assert ("i2", "action is 'refused' in the table, none by the trail") in found
    assert (None, "items_resolved is 2 in the table, 1 by the trail") in found


def test_deleted_or_inserted_items_are_found() -> None:
    trail, row, items = lifecycle()
    found = differences(replay(trail), row, items[:1])
    assert (None, "1 items in the table, 2 by the trail") in found
    assert ("i2", "has an action in the trail but is not in the table") in found


def test_withdrawal_is_replayed_with_its_time_and_reason() -> None:
    row, items = order_row(), [item_row(0), item_row(1)]
    trail = [received(row, items), action("i1", "removed", T0 + H),
             TrailEvent(T0 + 2 * H, "withdrawn", "issuer:nl-atkm", {"reason": "mistake"})]
    items[0] = acted(items[0], "removed", T0 + H)
    row.update(status="withdrawn", withdrawn_at=T0 + 2 * H, withdrawn_reason="mistake",
               items_resolved=1)
    assert differences(replay(trail), row, items) == []
    row["withdrawn_reason"] = None
    assert len(differences(replay(trail), row, items)) == 1


def test_events_written_before_v1_1_are_replayed_as_far_as_they_go() -> None:
    """A received event of the first release held kind, regime, items and deadline only: the
    other fixed columns and preservation are not compared; deadline, actions and status are."""
    trail, row, items = lifecycle()
    trail[0] = TrailEvent(T0, "received", "issuer:nl-atkm", {
        "kind": "order", "regime": "NL_ATKM", "items": 2, "deadline": "2026-11-22T21:00:00Z"})
    expected = replay(trail)
    assert not expected.complete and expected.problems == []
    row["category"] = "anything"  # not recorded then: not checked
    items[0]["preserve_until"] = None
    assert differences(expected, row, items) == []
    row["deadline"] = T0 + 48 * H
    items[0]["acted_at"] = T0
    assert [p[0] for p in differences(expected, row, items)] == [None, "i1"]


@pytest.mark.parametrize(("events", "problem"), [
    ([], "no received event: the order is not in the trail"),
    (["action"], "the trail holds 'action' before 'received'"),
    (["received", "received"], "the trail holds a second received event"),
    (["received", "completed"], "the trail holds completed with 0 of 2 items acted on"),
    (["received", "withdrawn", "action"], "the trail holds an action after the withdrawal"),
    (["received", "garbled"],
     "the trail holds 'action' (2026-11-22T09:00:00Z) with an unreadable detail"),
])
def test_events_that_contradict_each_other_are_problems(events: list[str],
                                                        problem: str) -> None:
    row, items = order_row(), [item_row(0), item_row(1)]
    made = {
        "received": received(row, items),
        "action": action("i1", "removed", T0 + H),
        "completed": TrailEvent(T0 + H, "completed", "system", {"effect_given": True}),
        "withdrawn": TrailEvent(T0 + H, "withdrawn", "issuer:nl-atkm", {}),
        "garbled": TrailEvent(T0, "action", "x", {"item_id": "i1"}),
    }
    expected = replay([made[name] for name in events])
    assert problem in [p.split(" (2026")[0] for p in expected.problems] + expected.problems


def test_events_that_change_no_state_are_ignored() -> None:
    trail, row, items = lifecycle()
    noise = [TrailEvent(T0 + 5 * H, kind, "system", {"anything": 1})
             for kind in ("outcome_delivered", "delivery_failed", "retried", "automation_failed")]
    assert differences(replay(trail + noise), row, items) == []


def test_replay_uses_the_rules_the_code_records_by() -> None:
    """effect_given, preserve_until, completed_at and effect_given_at come from orders/rules.py,
    not from a second copy of them."""
    trail, _row, _items = lifecycle()
    expected = replay(trail)
    assert expected.items["i2"]["effect_given"] is rules.gives_effect("refused") is False
    done = rules.completion([("removed", T0 + H, True), ("refused", T0 + 2 * H, False)])
    assert (expected.order["completed_at"], expected.order["effect_given_at"]) == (
        done.completed_at, done.effect_given_at)


def test_a_reinstatement_is_replayed_beside_the_action_it_undoes() -> None:
    row, items = order_row(kind="own_initiative"), [item_row(0), item_row(1)]
    trail = [received(row, items), action("i1", "disabled", T0 + H),
             TrailEvent(T0 + 3 * H, "reinstated", "operator:abc",
                        {"item_id": "i1", "undoes": "disabled", "acted_at": "2026-11-22T11:00:00Z",
                         "reason": "false positive"})]
    items[0] = dict(acted(items[0], "disabled", T0 + H), reinstated_at=T0 + 2 * H,
                    reinstated_reason="false positive")
    row["items_resolved"] = 1
    expected = replay(trail)
    assert differences(expected, row, items) == []
    items[0]["reinstated_at"] = None  # the reversal hidden with SQL
    assert differences(expected, row, items) == [
        ("i1", "reinstated_at is none in the table, 2026-11-22T11:00:00Z by the trail")]
    lone = replay([received(row, items), trail[2]])
    assert lone.problems == ["the trail holds a reinstatement of item i1 without an action "
                             "(2026-11-22T12:00:00Z)"]
