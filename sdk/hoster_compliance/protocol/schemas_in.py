"""Marshmallow schemas of the wire format (PROTOCOL 2, 4, 7.3): the one source of truth for
validation, serialisation and the OpenAPI description. Input schemas reject unknown fields, so a
typo never silently drops a legal instruction; the ``load_*`` functions turn marshmallow's errors
into :class:`InvalidPayload` with the nested field shape of PROTOCOL 2.1."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..errors import InvalidPayload, UnknownType
from ..vocabulary import (
    BASES,
    EU,
    EVENT_TYPES,
    MEMBER_STATES,
    NOTICE,
    ORDER,
    REASON_REQUIRED,
    RECORDABLE_ACTIONS,
    REGIMES,
    WEBHOOK_KINDS,
)
from . import categories, limits
from .fields import BoundedList, StrictBoolean, StrictInteger, StrictString, Time
from .schemas_out import (
    DeliveryListSchema,
    DeliverySchema,
    ErrorSchema,
    EventSchema,
    ItemOutSchema,
    OrderActionResultSchema,
    OrderDetailSchema,
    OrderListSchema,
    OrderSummarySchema,
    WebhookAcceptedSchema,
    WithdrawalAcceptedSchema,
)

__all__ = [
    "ACTIONS", "BASES", "EVENT_TYPES", "HASH_LENGTHS", "KINDS", "MEMBER_STATES", "ActionSchema",
    "ContentHashSchema", "DeliveryListSchema", "DeliverySchema", "EnvelopeSchema", "ErrorSchema",
    "EventSchema", "ItemOutSchema", "ItemSchema", "OrderActionResultSchema", "OrderCreatedSchema",
    "OrderDetailSchema", "OrderListSchema", "OrderSummarySchema", "OrderWithdrawnSchema",
    "WebhookAcceptedSchema", "WithdrawalAcceptedSchema", "load_action", "load_envelope",
    "load_order_created", "load_order_withdrawn", "reject_nul",
]

#: The ``action`` values the schema accepts.
ACTIONS = RECORDABLE_ACTIONS
#: The ``kind`` values an issuer may send.
KINDS = WEBHOOK_KINDS
#: Hex digits of each accepted content hash algorithm.
HASH_LENGTHS: dict[str, int] = {"sha256": 64, "sha1": 40, "md5": 32}
#: How far ``issued_at`` may lie ahead of the receiver's clock.
ISSUED_AT_SKEW = timedelta(seconds=300)

_MISSING = "Missing data for required field."
_NOT_BLANK = "Must not be blank."
_ID = validate.Regexp(r"[A-Za-z0-9._:\-]{1,128}\Z")  # \Z: "$" would let a trailing "\n" in
_NUL = "\x00"
#: What no text column stores: U+0000, and lone surrogates (JSON "\\ud800" without its
#: pair), which UTF-8 cannot encode.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(_NOT_BLANK)


def _territorial_scope(value: list[str]) -> None:
    if EU in value and len(value) > 1:
        raise ValidationError('"EU" must be the only entry.')
    if len(set(value)) != len(value):
        raise ValidationError("Duplicate Member State.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class EnvelopeSchema(_Strict):
    """Exactly ``{"type", "timestamp", "data"}`` (PROTOCOL 2)."""

    type = StrictString(required=True)
    timestamp = Time(required=True)
    data = fields.Dict(required=True)


class ContentHashSchema(_Strict):
    """``{"algorithm": "sha256"|"sha1"|"md5", "value": hex of that algorithm's length}``."""

    algorithm = StrictString(required=True, validate=validate.OneOf(tuple(HASH_LENGTHS)))
    value = StrictString(required=True, validate=validate.Regexp(r"[0-9A-Fa-f]+\Z"))

    @validates_schema(skip_on_field_errors=True)
    def _length_fits_algorithm(self, data: dict[str, Any], **kwargs: Any) -> None:
        expected = HASH_LENGTHS[data["algorithm"]]
        if len(data["value"]) != expected:
            raise ValidationError(
                f"Must be {expected} hex digits for {data['algorithm']}.", "value"
            )

_ITEM_URL = validate.URL(relative=False, schemes={"http", "https"}, require_tld=False)
# marshmallow builds the URL pattern (a large Unicode class) on its first use, a few tens of ms
# of CPU; at the first orders every request thread built it at once. Built here, at import.
_ITEM_URL("https://example.org/")


class ItemSchema(_Strict):
    """One item of an order: ``{"item_id", "url", "content_hash"?, "note"?}``."""

    item_id = StrictString(required=True, validate=validate.Length(min=1, max=128))
    url = StrictString(required=True, validate=[validate.Length(max=2048), _ITEM_URL])
    content_hash = fields.Nested(ContentHashSchema)
    note = StrictString(validate=validate.Length(max=limits.ITEM_NOTE_CHARS))


class OrderCreatedSchema(_Strict):
    """The ``data`` of ``order.created`` (PROTOCOL 2.1), without issuer-dependent defaults.

    The 300 s bound on ``issued_at`` needs the clock and is checked by :func:`load_order_created`.
    """

    order_id = StrictString(required=True, validate=_ID)
    kind = StrictString(required=True, validate=validate.OneOf(KINDS))
    regime = StrictString(validate=validate.OneOf(REGIMES))
    legal_basis = StrictString(
        validate=[validate.Length(max=limits.LEGAL_BASIS_CHARS), _not_blank])
    statement_of_reasons = StrictString(
        validate=[validate.Length(max=limits.STATEMENT_OF_REASONS_CHARS), _not_blank])
    category = StrictString(validate=validate.OneOf(categories.CATEGORIES))
    subcategory = StrictString()
    subcategory_other = StrictString(
        validate=[validate.Length(max=limits.SUBCATEGORY_OTHER_CHARS), _not_blank])
    issued_at = Time(required=True)
    deadline = Time()
    items = BoundedList(
        fields.Nested(ItemSchema), length=validate.Length(min=1, max=limits.MAX_ITEMS),
        required=True,
    )
    territorial_scope = BoundedList(
        StrictString(validate=validate.OneOf((*MEMBER_STATES, EU))),
        length=validate.Length(min=1, max=limits.MAX_TERRITORIAL_SCOPE),
        validate=_territorial_scope,
    )
    redress = StrictString(validate=validate.Length(max=limits.REDRESS_CHARS))
    confidential = StrictBoolean()
    preserve_for_days = StrictInteger(validate=validate.Range(min=0, max=3650))
    trusted_flagger = StrictBoolean()
    issuer_member_state = StrictString(validate=validate.OneOf(MEMBER_STATES))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _cross_field_rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # Runs even when single fields failed, so every problem is reported at once; rules look
        # at ``original`` (what was sent) where the loaded value may be absent because invalid.
        if not isinstance(original, dict):
            return  # "Invalid input type." is reported already
        errors: dict[str, Any] = {}
        kind = data.get("kind")
        if kind == ORDER:
            for name in ("legal_basis", "statement_of_reasons"):
                if name not in original:
                    errors[name] = [_MISSING]
            if "trusted_flagger" in original:
                errors["trusted_flagger"] = ["Only allowed when kind is notice."]
        self._check_subcategory(data, original, kind, errors)
        errors.update(_duplicate_item_ids(original.get("items")))
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _check_subcategory(
        data: dict[str, Any], original: dict[str, Any], kind: Any, errors: dict[str, Any]
    ) -> None:
        if "category" in original:
            category = data.get("category")  # absent here when invalid: reported already
        elif kind in (ORDER, NOTICE):
            category = categories.not_specified(kind)
        else:
            category = None
        subcategory = data.get("subcategory")
        if category is not None and subcategory is not None:
            if not categories.is_subcategory(category, subcategory):
                errors["subcategory"] = [f"Not a subcategory of {category}."]
        sent_other = original.get("subcategory") == categories.KEYWORD_OTHER
        if sent_other and "subcategory_other" not in original:
            errors["subcategory_other"] = [_MISSING]
        if not sent_other and "subcategory_other" in original:
            errors["subcategory_other"] = [
                f"Only allowed when subcategory is {categories.KEYWORD_OTHER}."
            ]


def _duplicate_item_ids(items: Any) -> dict[str, Any]:
    """``{"items": {position: {"item_id": [...]}}}`` for every repeat of an earlier item_id."""
    if not isinstance(items, list) or len(items) > limits.MAX_ITEMS:
        return {}
    seen: set[str] = set()
    found: dict[int, Any] = {}
    for position, item in enumerate(items):
        item_id = item.get("item_id") if isinstance(item, dict) else None
        if not isinstance(item_id, str):
            continue
        if item_id in seen:
            found[position] = {"item_id": ["Duplicate item_id in this order."]}
        seen.add(item_id)
    return {"items": found} if found else {}


class OrderWithdrawnSchema(_Strict):
    """The ``data`` of ``order.withdrawn`` (PROTOCOL 2.2)."""

    order_id = StrictString(required=True, validate=_ID)
    reason = StrictString(validate=validate.Length(max=limits.WITHDRAWAL_REASON_CHARS))


class ActionSchema(_Strict):
    """An operator's action on an item (PROTOCOL 4, 7.3). Rules that need the clock or the order
    (``acted_at`` in the future or before receipt, ``terms`` only on notices) are the service's."""

    action = StrictString(required=True, validate=validate.OneOf(ACTIONS))
    acted_at = Time()
    reason = StrictString(validate=validate.Length(max=limits.ACTION_REASON_CHARS))
    basis = StrictString(validate=validate.OneOf(BASES))
    automated = StrictBoolean()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _reason_for_refusal(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if not isinstance(original, dict) or data.get("action") not in REASON_REQUIRED:
            return
        reason = original.get("reason")
        if reason is None and "reason" not in original:
            raise ValidationError(_MISSING, "reason")
        if isinstance(reason, str) and not reason.strip():
            raise ValidationError(_NOT_BLANK, "reason")


def _string_keys(messages: Any) -> Any:
    """Marshmallow keys list positions by int; PROTOCOL 2.1 writes them as strings."""
    if isinstance(messages, dict):
        return {str(key): _string_keys(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_string_keys(value) for value in messages]
    return messages


def _nul_path(doc: object) -> tuple[list[str], bool, str] | None:
    """The path to a string holding U+0000 or a lone surrogate, whether it is an object key
    (then the path ends at the object holding it), and that character."""
    stack: list[tuple[object, list[str]]] = [(doc, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if found := _UNSTORABLE.search(value):
                return path, False, found.group()
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str) and (found := _UNSTORABLE.search(key)):
                    return path, True, found.group()
                stack.append((child, [*path, str(key)]))
        elif isinstance(value, list | tuple):
            stack.extend((child, [*path, str(i)]) for i, child in enumerate(value))
    return None


def reject_nul(doc: object) -> None:
    """``InvalidPayload`` if any string or object key anywhere in ``doc`` holds U+0000, which no
    database text column stores faithfully; ``fields`` gives the path relative to ``doc``."""
    found = _nul_path(doc)
    if found is None:
        return
    path, is_key, char = found
    what = "U+0000" if char == _NUL else "a lone surrogate"
    # A key's problem belongs to its object, as marshmallow's "_schema"; so does a bare string's.
    message = f"A key must not contain {what}." if is_key else f"Must not contain {what}."
    fields_: Any = {"_schema": [message]} if is_key or not path else [message]
    for key in reversed(path):
        fields_ = {key: fields_}
    raise InvalidPayload(f"Strings must not contain {what}.", fields=fields_)


# One instance of each input schema, built once: building a schema copies its declared fields,
# which costs more than validating a small order (hot path). ``load`` keeps no state between
# calls, so the instances are shared by every thread.
_ENVELOPE = EnvelopeSchema()
_ORDER_CREATED = OrderCreatedSchema()
_ORDER_WITHDRAWN = OrderWithdrawnSchema()
_ACTION = ActionSchema()


def _load(schema: Schema, doc: object, message: str) -> dict[str, Any]:
    reject_nul(doc)
    try:
        loaded: dict[str, Any] = schema.load(doc)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidPayload(message, fields=_string_keys(exc.messages)) from exc
    return loaded


def load_envelope(doc: object) -> dict[str, Any]:
    """Validate the parsed body as an envelope; ``UnknownType`` for a ``type`` not in
    :data:`EVENT_TYPES` (checked only once the envelope itself is valid)."""
    envelope = _load(_ENVELOPE, doc, "The envelope is invalid.")
    if envelope["type"] not in EVENT_TYPES:
        raise UnknownType("Unknown type; expected one of: " + ", ".join(EVENT_TYPES) + ".")
    return envelope


def load_order_created(
    data: object, *, now: datetime, strings_checked: bool = False
) -> dict[str, Any]:
    """Validate ``order.created`` data; only what was sent, loaded (times aware UTC). Defaults
    that depend on the issuer (regime, Member State, category) are left to the service.
    ``strings_checked``: :func:`load_envelope` already looked for U+0000 (it looks everywhere)."""
    if not strings_checked:
        reject_nul(data)
    errors: dict[Any, Any] = {}
    try:
        loaded: dict[str, Any] = _ORDER_CREATED.load(data)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
    issued_at = loaded.get("issued_at")
    if isinstance(issued_at, datetime) and issued_at - now > ISSUED_AT_SKEW:
        errors["issued_at"] = ["Must not be more than 300 s in the future."]
    if errors:
        raise InvalidPayload("The order.created data is invalid.", fields=_string_keys(errors))
    return loaded


def load_order_withdrawn(data: object) -> dict[str, Any]:
    """Validate ``order.withdrawn`` data: ``{"order_id", "reason"?}``."""
    return _load(_ORDER_WITHDRAWN, data, "The order.withdrawn data is invalid.")


def load_action(body: object) -> dict[str, Any]:
    """Validate an operator's action body: ``{"action", "acted_at"?, "reason"?, "basis"?,
    "automated"?}``; nothing is defaulted."""
    return _load(_ACTION, body, "The action is invalid.")
