"""Legal regimes and their default deadlines (PROTOCOL 5), as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..vocabulary import EU_DSA_ART9, EU_TCO, NL_ATKM, NL_NTD, OPEN, OTHER
from ..vocabulary import REGIMES as REGIME_CODES

__all__ = ["DEFAULT_DEADLINES", "DUE_SOON_AT", "REGIME_CODES", "compute_deadline", "is_due_soon",
           "is_overdue", "resolve_regime"]

#: Time allowed after receipt when the order names no deadline; ``None``: no deadline.
DEFAULT_DEADLINES: dict[str, timedelta | None] = {
    EU_TCO: timedelta(hours=1),  # Reg. (EU) 2021/784 Art. 3(3)
    NL_ATKM: timedelta(hours=12),  # Wet bestuursrechtelijke aanpak OKM, art. 6(4)(c)
    NL_NTD: timedelta(hours=24),  # Dutch Notice-and-Takedown code (Offlimits)
    EU_DSA_ART9: timedelta(hours=24),
    OTHER: None,
}


def resolve_regime(requested: str | None, issuer_default: str | None) -> str:
    """The order's regime: as sent, else the issuer's ``default_regime``, else ``OTHER``."""
    return requested or issuer_default or OTHER


def compute_deadline(
    regime: str, received_at: datetime, explicit: datetime | None = None
) -> datetime | None:
    """The order's deadline: an explicit ``deadline`` always wins; else receipt + the regime's
    default; ``None`` when the regime has none."""
    if explicit is not None:
        return explicit
    allowed = DEFAULT_DEADLINES[regime]
    return None if allowed is None else received_at + allowed


def is_overdue(status: str, deadline: datetime | None, now: datetime) -> bool:
    """Overdue: still open and past its deadline (PROTOCOL 5)."""
    return status == OPEN and deadline is not None and now > deadline


#: When an open order becomes "due soon": this fraction of the time from receipt to deadline.
DUE_SOON_AT = 0.75


def is_due_soon(
    status: str, received_at: datetime, deadline: datetime | None, now: datetime,
    fraction: float = DUE_SOON_AT,
) -> bool:
    """Due soon: open, not yet overdue, and past ``fraction`` of the time from receipt to its
    deadline (an order received past its deadline is overdue, never due soon)."""
    if status != OPEN or deadline is None or is_overdue(status, deadline, now):
        return False
    return now >= received_at + (deadline - received_at) * fraction
