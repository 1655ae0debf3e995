"""The pure decisions about an order (orders/rules.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hoster_compliance.errors import Conflict, InvalidPayload
from hoster_compliance.orders import rules

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent", "default", "regime", "deadline"),
    [
        ({}, None, "OTHER", None),
        ({}, "NL_ATKM", "NL_ATKM", T + timedelta(hours=12)),
        ({"regime": "EU_TCO"}, "NL_ATKM", "EU_TCO", T + timedelta(hours=1)),
        ({"regime": "EU_TCO", "deadline": T + timedelta(days=3)}, None, "EU_TCO",
         T + timedelta(days=3)),
        ({"regime": "NL_NTD"}, None, "NL_NTD", T + timedelta(hours=24)),
    ],
)
def test_terms_on_receipt(sent: dict[str, object], default: str | None, regime: str,
                          deadline: datetime | None) -> None:
    terms = rules.terms_on_receipt({"kind": "order", **sent}, default, T)
    assert (terms.regime, terms.deadline) == (regime, deadline)
    assert terms.category == "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"


def test_category_as_sent_or_the_kinds_not_specified() -> None:
    notice = rules.terms_on_receipt({"kind": "notice"}, None, T)
    assert notice.category == "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    sent = rules.terms_on_receipt({"kind": "order", "category": "STATEMENT_CATEGORY_VIOLENCE"},
                                  None, T)
    assert sent.category == "STATEMENT_CATEGORY_VIOLENCE"


def test_acted_at_may_be_five_seconds_ahead_and_no_more() -> None:
    rules.check_acted_at_not_future(None, T)
    rules.check_acted_at_not_future(T + timedelta(seconds=5), T)
    with pytest.raises(InvalidPayload) as caught:
        rules.check_acted_at_not_future(T + timedelta(seconds=5, microseconds=1), T)
    assert caught.value.fields == {"acted_at": ["Must not be in the future."]}


def test_an_action_is_final_once_recorded() -> None:
    assert rules.is_repeat("i1", None, "removed") is False
    assert rules.is_repeat("i1", "removed", "removed") is True
    with pytest.raises(Conflict, match="Item i1 already has the action removed"):
        rules.is_repeat("i1", "removed", "disabled")


def test_basis_defaults_to_law_and_terms_is_for_notices() -> None:
    assert rules.action_basis("order", T, T, None) == "law"
    assert rules.action_basis("notice", T, T, "terms") == "terms"
    with pytest.raises(InvalidPayload) as caught:
        rules.action_basis("order", T, T, "terms")
    assert caught.value.fields == {"basis": ["terms is only allowed on notices."]}
    with pytest.raises(InvalidPayload) as caught:
        rules.action_basis("notice", T, T - timedelta(microseconds=1), "terms")
    assert caught.value.fields == {"acted_at": ["Must not be before received_at."]}


@pytest.mark.parametrize(("action", "days", "until"), [
    ("removed", 180, T + timedelta(days=180)), ("geo_blocked", 1, T + timedelta(days=1)),
    ("removed", None, None), ("removed", 0, None), ("not_found", 180, None),
    ("refused", 180, None),
])
def test_preserve_until(action: str, days: int | None, until: datetime | None) -> None:
    assert rules.preserve_until(action, T, days) == until


def test_completion() -> None:
    open_ = rules.completion([("removed", 5, True), (None, None, None)])
    assert open_ == rules.Completion(1, False)
    done = rules.completion([("removed", 5, True), ("not_found", 9, False), ("disabled", 7, True)])
    assert done == rules.Completion(3, True, completed_at=9, effect_given_at=7)
    none = rules.completion([("refused", 4, False), ("not_hosted", 2, False)])
    assert none == rules.Completion(2, True, completed_at=4, effect_given_at=None)


def test_effect_actions() -> None:
    assert [a for a in ("removed", "disabled", "geo_blocked", "not_found", "not_hosted",
                        "refused", "reinstated") if rules.gives_effect(a)] == [
        "removed", "disabled", "geo_blocked"]
