"""The words of the protocol, each defined once: Member States, regimes, kinds, actions, bases,
statuses. Configuration, schemas, reads, actions and the report import them from here; a second
copy anywhere is a bug waiting for this one to change."""

from __future__ import annotations

#: The 27 Member States, Eurostat codes (Greece is ``EL``, not ``GR``), in alphabetical order.
MEMBER_STATES: tuple[str, ...] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)
#: ``territorial_scope`` may be ``["EU"]`` instead of a list of Member States.
EU = "EU"

# -- regimes (PROTOCOL 5; their deadlines are in protocol/regimes.py) -------------------------
EU_TCO = "EU_TCO"
NL_ATKM = "NL_ATKM"
NL_NTD = "NL_NTD"
EU_DSA_ART9 = "EU_DSA_ART9"
OTHER = "OTHER"
REGIMES: tuple[str, ...] = (EU_TCO, NL_ATKM, NL_NTD, EU_DSA_ART9, OTHER)

# -- kinds --------------------------------------------------------------------------------
ORDER = "order"
NOTICE = "notice"
#: v1.1 (PROTOCOL 11): entries the hoster's own detection makes; never sent by an issuer.
OWN_INITIATIVE = "own_initiative"
#: Every kind of entry the store may hold.
KINDS: tuple[str, ...] = (ORDER, NOTICE, OWN_INITIATIVE)
#: The kinds an issuer sends on the webhook (and the v1 operator API filters on).
WEBHOOK_KINDS: tuple[str, ...] = (ORDER, NOTICE)
#: The issuer id of own-initiative entries, and of notices from anyone (PROTOCOL 10, 11): no
#: configured issuer may take them, and nothing is called back to them.
SELF, PUBLIC = "self", "public"
RESERVED_ISSUER_IDS: frozenset[str] = frozenset({SELF, PUBLIC})

# -- actions on items (PROTOCOL 4) ----------------------------------------------------------
REMOVED = "removed"
DISABLED = "disabled"
GEO_BLOCKED = "geo_blocked"
NOT_FOUND = "not_found"
NOT_HOSTED = "not_hosted"
REFUSED = "refused"
#: v1.1 (PROTOCOL 4, 11.2): undoes an earlier action that gave effect; notices and
#: own-initiative entries only; the one action that may follow another (orders/rules.py).
REINSTATED = "reinstated"
#: Every action name of PROTOCOL 4.
ACTIONS: tuple[str, ...] = (
    REMOVED, DISABLED, GEO_BLOCKED, NOT_FOUND, NOT_HOSTED, REFUSED, REINSTATED,
)
#: What an operator, the CLI or an automation may record.
RECORDABLE_ACTIONS: tuple[str, ...] = ACTIONS
#: Actions that need a ``reason``.
REASON_REQUIRED: tuple[str, ...] = (REFUSED, REINSTATED)
#: The kinds whose actions may be reinstated (an authority's order is not the hoster's to undo).
REINSTATABLE_KINDS: frozenset[str] = frozenset({NOTICE, OWN_INITIATIVE})
#: The actions that give effect to an order (the content is no longer reachable).
EFFECT_ACTIONS: frozenset[str] = frozenset({REMOVED, DISABLED, GEO_BLOCKED})
#: The legal basis of an action: the law (default) or the hoster's terms (notices only).
LAW, TERMS = "law", "terms"
BASES: tuple[str, ...] = (LAW, TERMS)

# -- states ---------------------------------------------------------------------------------
OPEN, COMPLETED, WITHDRAWN = "open", "completed", "withdrawn"
#: An order's ``status``; "overdue" is a filter and a flag, not a status.
ORDER_STATUSES: tuple[str, ...] = (OPEN, COMPLETED, WITHDRAWN)
PENDING, FAILED, DELIVERED = "pending", "failed", "delivered"
#: A delivery's (outbox row's) ``state``.
DELIVERY_STATES: tuple[str, ...] = (PENDING, FAILED, DELIVERED)

# -- webhook events (PROTOCOL 2) and callbacks (PROTOCOL 3) ---------------------------------
ORDER_CREATED = "order.created"
ORDER_WITHDRAWN = "order.withdrawn"
EVENT_TYPES: tuple[str, ...] = (ORDER_CREATED, ORDER_WITHDRAWN)
ORDER_ACKNOWLEDGED = "order.acknowledged"
ORDER_OUTCOME = "order.outcome"

# -- mail to a notifier (PROTOCOL 10.2): outbox rows of these types are mail, not callbacks --
NOTICE_CONFIRMATION = "notice.confirmation"
NOTICE_DECISION = "notice.decision"
NOTIFIER_MAIL_TYPES: tuple[str, ...] = (NOTICE_CONFIRMATION, NOTICE_DECISION)
