"""Output schemas of the operator API and the webhook answers (PROTOCOL 2.3, 7.3), used to
serialise responses and to describe them in OpenAPI. Every nullable field is written as ``null``
when absent, so each shape always has all its keys; times are written with ``Z``."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..vocabulary import DELIVERY_STATES, ORDER_STATUSES, WITHDRAWN
from .fields import Time


def _nullable_str() -> fields.String:
    return fields.String(allow_none=True, dump_default=None)


def _nullable_time() -> Time:
    return Time(allow_none=True, dump_default=None)


class ContentHashOutSchema(Schema):
    """``{"algorithm", "value"}`` as received."""

    algorithm = fields.String(required=True)
    value = fields.String(required=True)


class ItemOutSchema(Schema):
    """An item with its action (PROTOCOL 7.3); ``null`` where none."""

    item_id = fields.String(required=True)
    url = fields.String(required=True)
    content_hash = fields.Nested(ContentHashOutSchema, allow_none=True, dump_default=None)
    note = _nullable_str()
    action = _nullable_str()
    acted_at = _nullable_time()
    reason = _nullable_str()
    basis = _nullable_str()
    automated = fields.Boolean(allow_none=True, dump_default=None)
    preserve_until = _nullable_time()


class DeliverySchema(Schema):
    """One outbox row: a callback to an issuer and how its delivery goes."""

    id = fields.Integer(required=True)
    issuer_id = fields.String(required=True)
    order_id = fields.String(required=True)
    type = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    next_attempt_at = _nullable_time()
    last_status = fields.Integer(allow_none=True, dump_default=None)
    last_error = _nullable_str()
    delivered_at = _nullable_time()


class EventSchema(Schema):
    """One audit event of an order: when, what, who, and its details."""

    at = Time(required=True)
    type = fields.String(required=True)
    actor = fields.String(required=True)
    detail = fields.Raw(allow_none=True, dump_default=None)


class OrderSummarySchema(Schema):
    """An order as listed by ``GET /v1/orders``."""

    issuer_id = fields.String(required=True)
    order_id = fields.String(required=True)
    kind = fields.String(required=True)
    regime = fields.String(required=True)
    category = fields.String(required=True)
    subcategory = _nullable_str()
    status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    received_at = Time(required=True)
    deadline = _nullable_time()
    overdue = fields.Boolean(required=True)
    acknowledged_at = _nullable_time()
    effect_given_at = _nullable_time()
    items_total = fields.Integer(required=True)
    items_resolved = fields.Integer(required=True)


class NotifierOutSchema(Schema):
    """The notifier of a notice from anyone; either may be null (an anonymous report)."""

    name = _nullable_str()
    email = _nullable_str()


class OrderDetailSchema(OrderSummarySchema):
    """``GET /v1/orders/{issuer_id}/{order_id}``: the summary, every ``data`` field of the order,
    its items, its deliveries, its newest 1000 audit events and their total count."""

    legal_basis = _nullable_str()
    statement_of_reasons = _nullable_str()
    subcategory_other = _nullable_str()
    issued_at = Time(required=True)
    territorial_scope = fields.List(fields.String(), allow_none=True, dump_default=None)
    redress = _nullable_str()
    confidential = fields.Boolean(required=True)
    preserve_for_days = fields.Integer(allow_none=True, dump_default=None)
    trusted_flagger = fields.Boolean(required=True)
    issuer_member_state = fields.String(required=True)
    completed_at = _nullable_time()
    withdrawn_at = _nullable_time()
    #: A notice from anyone: who sent it (PROTOCOL 10.2), null when anonymous or erased.
    notifier = fields.Nested(NotifierOutSchema, allow_none=True, dump_default=None)
    items = fields.List(fields.Nested(ItemOutSchema), required=True)
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    events = fields.List(
        fields.Nested(EventSchema), required=True,
        metadata={"description": "The newest 1000 events of the order, oldest first."})
    events_total = fields.Integer(
        required=True, metadata={"description": "How many events the order has in all."})


class OrderListSchema(Schema):
    """``GET /v1/orders``: a page of summaries and the cursor of the next page (or ``null``)."""

    orders = fields.List(fields.Nested(OrderSummarySchema), required=True)
    next_cursor = _nullable_str()


class OrderActionResultSchema(Schema):
    """``POST /v1/orders/{issuer_id}/{order_id}/action``: every item of the order."""

    order_id = fields.String(required=True)
    items = fields.List(fields.Nested(ItemOutSchema), required=True)


class DeliveryListSchema(Schema):
    """``GET /v1/deliveries``."""

    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)


class AlertSchema(Schema):
    """One alert to the hoster's people (PROTOCOL 9.4) and how its sending goes."""

    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    event = fields.String(required=True, metadata={"enum": [
        "received", "due_soon", "overdue", "resolved", "delivery_failed", "automation_failed"]})
    issuer_id = fields.String(required=True)
    order_id = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer(required=True)
    last_error = _nullable_str()
    created_at = Time(required=True)
    delivered_at = _nullable_time()


class AlertListSchema(Schema):
    """``GET /v1/alerts``."""

    alerts = fields.List(fields.Nested(AlertSchema), required=True)


class WebhookAcceptedSchema(Schema):
    """The 201/200 answer to ``order.created`` (PROTOCOL 2.3)."""

    order_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    received_at = Time(required=True)
    deadline = _nullable_time()
    duplicate = fields.Boolean(required=True)


class WithdrawalAcceptedSchema(Schema):
    """The 200 answer to ``order.withdrawn``."""

    order_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": [WITHDRAWN]})


class ErrorSchema(Schema):
    """Every error body: ``{"error": CODE, "message": text, "fields"?}``."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    # Not named ``fields``: a Schema keeps its own ``fields`` attribute.
    fields_ = fields.Dict(
        data_key="fields",
        attribute="fields",
        metadata={"description": "Field errors in marshmallow's nested shape."},
    )
