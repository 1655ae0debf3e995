"""The bounds of PROTOCOL 13.2 (and the list sizes of 2.1), in one place: what an issuer, a
client or an operator can make the receiver hold, parse, store or answer."""

from __future__ import annotations

#: An error body's largest size in bytes; field errors beyond it are summarised (defined with
#: the error tree, which the ground floor must not take from here).
from ..errors import MAX_ERROR_BODY_BYTES as MAX_ERROR_BODY_BYTES

#: Longest strings, in characters (longer is ``invalid_payload``).
LEGAL_BASIS_CHARS = 1000
STATEMENT_OF_REASONS_CHARS = 10_000
REDRESS_CHARS = 5000
SUBCATEGORY_OTHER_CHARS = 500
ITEM_NOTE_CHARS = 2000
ACTION_REASON_CHARS = 2000
WITHDRAWAL_REASON_CHARS = 2000

#: Longest lists, checked before any element is looked at.
MAX_ITEMS = 1000
MAX_TERRITORIAL_SCOPE = 28

#: An operator API request body's largest size in bytes (413 ``payload_too_large``).
OPERATOR_MAX_BODY_BYTES = 64 * 1024

#: A redelivered order records at most one ``duplicate_delivery`` event per this many seconds.
DUPLICATE_EVENT_INTERVAL_SECONDS = 60
#: The order detail shows this many of the newest events (with ``events_total``).
MAX_EVENTS_SHOWN = 1000
