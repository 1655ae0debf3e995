"""The decisions about an order, as pure functions (no database, no clock of their own): its
regime, deadline and default category; whether an action may be recorded; when preserved content
may go; whether the order is complete and when it gave effect (PROTOCOL 2.1, 4, 5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import Conflict, InvalidPayload
from ..protocol import categories, regimes
from ..vocabulary import (
    EFFECT_ACTIONS,
    LAW,
    NOTICE,
    REINSTATABLE_KINDS,
    REINSTATED,
    RESERVED_ISSUER_IDS,
    TERMS,
    WEBHOOK_KINDS,
)

#: How far ``acted_at`` may lie ahead of the receiver's clock (PROTOCOL 4).
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class Terms:
    """What receipt decides about a new order: its regime, deadline (None: none) and category."""

    regime: str
    deadline: datetime | None
    category: str


def terms_on_receipt(
    loaded: dict[str, Any], issuer_default_regime: str | None, received_at: datetime
) -> Terms:
    """Regime: as sent, else the issuer's default, else ``OTHER``; deadline: as sent, else
    receipt + the regime's default; category: as sent, else the kind's "not specified"."""
    regime = regimes.resolve_regime(loaded.get("regime"), issuer_default_regime)
    deadline = regimes.compute_deadline(regime, received_at, loaded.get("deadline"))
    category = loaded.get("category") or categories.not_specified(loaded["kind"])
    return Terms(regime, deadline, category)


def gives_effect(action: str) -> bool:
    """Whether ``action`` makes the content unreachable (``removed``, ``disabled``,
    ``geo_blocked``)."""
    return action in EFFECT_ACTIONS


def check_acted_at_not_future(acted_at: datetime | None, now: datetime) -> None:
    """``InvalidPayload`` when ``acted_at`` is more than :data:`CLOCK_SKEW` ahead of ``now``."""
    if acted_at is not None and acted_at > now + CLOCK_SKEW:
        raise InvalidPayload("acted_at is in the future.",
                             fields={"acted_at": ["Must not be in the future."]})


def is_repeat(item_id: str, recorded: str | None, action: str,
              reinstated: bool = False) -> bool:
    """Whether item ``item_id``, which has ``recorded`` (and was ``reinstated`` or not), takes
    ``action`` as a no-op: final once recorded, the same action again keeps what was recorded;
    a different one is ``Conflict``. ``reinstated`` is the one action that may follow another
    (:func:`check_reinstatement`), and nothing may follow it."""
    if reinstated:
        if action == REINSTATED:
            return True
        raise Conflict(f"Item {item_id} was reinstated; no action may follow.")
    if recorded is None or action == REINSTATED:
        return False
    if recorded == action:
        return True
    raise Conflict(f"Item {item_id} already has the action {recorded}.")


def check_reinstatement(kind: str, item_id: str, recorded: str | None,
                        effect_given: bool | None) -> None:
    """``reinstated`` undoes an earlier action that gave effect, on notices and own-initiative
    entries only (an authority's order is not the hoster's to undo): ``Conflict`` otherwise."""
    if kind not in REINSTATABLE_KINDS:
        raise Conflict("reinstated applies to notices and own-initiative entries only.")
    if recorded is None or not effect_given:
        raise Conflict(f"Item {item_id} has no action that gave effect to reinstate.")


def check_whole_order_action(action: str) -> None:
    """An action for every open item of an order: ``reinstated`` undoes one item's action and is
    never recorded that way (``InvalidPayload``)."""
    if action == REINSTATED:
        raise InvalidPayload("reinstated is recorded item by item.",
                             fields={"action": ["reinstated applies to one item at a time."]})


def sends_callbacks(kind: str, issuer_id: str) -> bool:
    """Whether an entry has an issuer to call back: not own-initiative entries, nor notices
    from anyone (issuer ``public``, PROTOCOL 10.2)."""
    return kind in WEBHOOK_KINDS and issuer_id not in RESERVED_ISSUER_IDS


def action_basis(
    kind: str, received_at: datetime, acted_at: datetime, basis: str | None
) -> str:
    """The action's basis (default ``law``) after the checks against the order: never acted
    before receipt; ``terms`` on notices only."""
    if acted_at < received_at:
        raise InvalidPayload("acted_at is before the order was received.",
                             fields={"acted_at": ["Must not be before received_at."]})
    chosen = basis or LAW
    if chosen == TERMS and kind != NOTICE:
        raise InvalidPayload("basis terms applies to notices only.",
                             fields={"basis": ["terms is only allowed on notices."]})
    return chosen


def preserve_until(
    action: str, acted_at: datetime, preserve_for_days: int | None
) -> datetime | None:
    """Until when removed content is kept: ``acted_at`` + the order's days, for actions that
    gave effect on orders that ask for preservation; else None."""
    if gives_effect(action) and preserve_for_days:
        return acted_at + timedelta(days=preserve_for_days)
    return None


@dataclass(frozen=True)
class Completion:
    """How far an order is: items with an action; when complete, the last action's time and
    the last effect-giving action's time (None when no action gave effect)."""

    resolved: int
    done: bool
    completed_at: int | None = None
    effect_given_at: int | None = None


def completion(items: Sequence[tuple[str | None, int | None, bool | None]]) -> Completion:
    """``items`` as ``(action, acted_at, effect_given)``, times in any one comparable unit."""
    resolved = sum(1 for action, _, _ in items if action is not None)
    if resolved < len(items):
        return Completion(resolved, False)
    acted = [at for _, at, _ in items if at is not None]
    effects = [at for _, at, effect in items if effect and at is not None]
    return Completion(resolved, True, max(acted) if acted else None,
                      max(effects) if effects else None)


def notice_deadline(received_at: datetime, deadline_hours: int) -> datetime | None:
    """A notice from anyone is due ``deadline_hours`` after receipt (``[notices]``; 0: none)."""
    return received_at + timedelta(hours=deadline_hours) if deadline_hours else None
