"""The two messages to a notifier (PROTOCOL 10.2): the confirmation of receipt (Art. 16(4) DSA)
and the decision (16(5), (6)). Built here as text, queued as outbox rows in the caller's
transaction; the delivery worker sends them through ``delivery/mail.py`` (``sender.py``) and
retries them like callbacks. The notifier's address is in the row only (never in a log line or
an event)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from ..config import Config
from ..protocol.callbacks import new_webhook_id
from ..store.orders import insert_rows
from ..store.tables import deliveries
from ..timeutil import format_time, to_micros
from ..vocabulary import (
    DISABLED,
    GEO_BLOCKED,
    NOT_FOUND,
    NOT_HOSTED,
    NOTICE_CONFIRMATION,
    NOTICE_DECISION,
    PENDING,
    PUBLIC,
    REFUSED,
    REINSTATED,
    REMOVED,
    TERMS,
)

#: The outbox destination of every message to a notifier (one SMTP server: PROTOCOL 13.1's
#: fairness keeps a slow mail server from holding callbacks, and the other way round).
MAIL_DESTINATION = "mail:notifiers"
#: A message to a notifier is retried this long, like a callback (PROTOCOL 3), then failed.
GIVE_UP_AFTER = timedelta(hours=72)

#: Each action in plain words, for the person who reported the content.
PLAIN_WORDS: dict[str, str] = {
    REMOVED: "removed: the content has been deleted",
    DISABLED: "access disabled: the content can no longer be reached",
    GEO_BLOCKED: "access disabled in part of the EU",
    NOT_FOUND: "no action: the address does not exist or the content was already gone",
    NOT_HOSTED: "no action: the content is not stored on our servers; please report it to the "
                "service that hosts it",
    REFUSED: "no action: we decided not to act on this content",
    REINSTATED: "restored: an earlier measure was undone",
}


@dataclass(frozen=True)
class Mail:
    """One message: recipient, subject and text body."""

    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class DecidedItem:
    """What the decision says about one URL."""

    url: str
    action: str
    reason: str | None
    basis: str | None
    automated: bool


def confirmation(config: Config, notice_id: str, urls: Sequence[str],
                 deadline: datetime | None, to: str) -> Mail:
    """The confirmation of receipt (Art. 16(4))."""
    lines = [
        f"We received your notice {notice_id} to {config.service_name}.",
        "",
        "You reported:",
        *(f"  {url}" for url in urls),
        "",
        "What happens next: a person at "
        f"{config.service_name} reviews every address you reported"
        + (f", at the latest by {format_time(deadline)} (UTC)" if deadline else "")
        + ". You will receive one more message with our decision on each address and how "
          "you can contest it.",
        "",
        f"Please quote {notice_id} if you write to us about this notice.",
    ]
    return Mail(to, f"[{config.service_name}] We received your notice {notice_id}",
                "\n".join(lines) + "\n")


def decision(config: Config, notice_id: str, items: Sequence[DecidedItem], to: str) -> Mail:
    """The decision (Art. 16(5), (6)): each URL's outcome, automated means, redress."""
    lines = [f"We have decided on your notice {notice_id} to {config.service_name}.", ""]
    for item in items:
        words = PLAIN_WORDS.get(item.action, item.action)
        if item.basis == TERMS and item.action in (REMOVED, DISABLED, GEO_BLOCKED):
            words += " (under our terms of service)"
        lines.append(f"  {item.url}")
        lines.append(f"    {words}.")
        if item.reason and item.action in (REFUSED, REINSTATED):
            lines.append(f"    Reason: {item.reason}")
    lines.append("")
    automated = [item.url for item in items if item.automated]
    if automated:
        lines.append("Automated means: the decision on "
                     + ("every address" if len(automated) == len(items)
                        else f"{len(automated)} of the {len(items)} addresses")
                     + " was taken by automated means. The content was identified by your "
                       "notice, not by automated detection.")
    else:
        lines.append("Automated means: none. The content was identified by your notice, and "
                     "a person took the decision.")
    lines += ["", "How to contest this decision:", config.notices.redress, ""]
    return Mail(to, f"[{config.service_name}] Our decision on your notice {notice_id}",
                "\n".join(lines))


def mail_row(order_pk: int, notice_id: str, type_: str, mail: Mail, now: int) -> dict[str, Any]:
    """The outbox row of one message to a notifier, due at once."""
    body = json.dumps({"to": mail.to, "subject": mail.subject, "text": mail.text},
                      ensure_ascii=False, separators=(",", ":"))
    return {
        "order_pk": order_pk, "issuer_id": PUBLIC, "order_id": notice_id,
        "destination": MAIL_DESTINATION, "type": type_,
        "path": "", "webhook_id": new_webhook_id(), "body": body, "state": PENDING,
        "attempts": 0, "created_at": now, "next_attempt_at": now,
        "give_up_at": now + GIVE_UP_AFTER // timedelta(microseconds=1),
    }


def queue_confirmation(conn: Connection, config: Config, order_pk: int, notice_id: str,
                       urls: Sequence[str], deadline: datetime | None, email: str | None,
                       now: datetime) -> bool:
    """Queue the confirmation when the notifier gave an e-mail. Without ``[mail]`` it is queued
    all the same and fails visibly in the outbox: the notifier is owed it (Art. 16(4))."""
    if email is None:
        return False
    mail = confirmation(config, notice_id, urls, deadline, email)
    insert_rows(conn, deliveries, [mail_row(order_pk, notice_id, NOTICE_CONFIRMATION, mail,
                                            to_micros(now))])
    return True


def queue_decision(conn: Connection, config: Config, order: Any, items: Sequence[Any],
                   now: datetime) -> bool:
    """Queue the decision of the completed notice ``order`` (a row) with its ``items`` (rows)
    when the notifier gave an e-mail (whatever process records the action: the one that sends
    needs ``[mail]``)."""
    if order.notifier_email is None:
        return False
    decided = [DecidedItem(i.url, i.action, i.reason, i.basis, bool(i.automated)) for i in items]
    mail = decision(config, order.order_id, decided, order.notifier_email)
    insert_rows(conn, deliveries, [mail_row(order.id, order.order_id, NOTICE_DECISION, mail,
                                            to_micros(now))])
    return True

