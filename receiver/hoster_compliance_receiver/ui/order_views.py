"""The open orders (deadline first), one order, and acting on its items."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for

from hoster_compliance.errors import (
    ComplianceError,
    Conflict,
    InvalidPayload,
    OrderWithdrawn,
    UnknownItem,
)
from hoster_compliance.orders.reads import KINDS, STATUSES
from hoster_compliance.vocabulary import EFFECT_ACTIONS, RECORDABLE_ACTIONS

from .blueprint import bp, page, service
from .present import (
    action_body,
    deadline_view,
    decode_item,
    encode_item,
    item_page,
    notifier_view,
)

PAGE_SIZE = "50"
#: Fields the order page lays out itself; any other field of the order detail (a later
#: version's) is listed under them as it is.
_SHOWN = frozenset({
    "issuer_id", "order_id", "kind", "regime", "category", "subcategory", "subcategory_other",
    "status", "received_at", "deadline", "overdue", "acknowledged_at", "effect_given_at",
    "items_total", "items_resolved", "legal_basis", "statement_of_reasons", "issued_at",
    "items", "territorial_scope", "redress", "confidential", "preserve_for_days",
    "trusted_flagger", "issuer_member_state", "withdrawn_at", "completed_at", "deliveries",
    "events", "events_total", "notifier",
})


@bp.get("/orders")
def orders() -> Any:
    """Open orders, notices and own-initiative entries, deadline first, 50 a page."""
    svc = service()
    args = {k: v for k, v in request.args.items() if v != ""}
    args.setdefault("status", "open")
    args.setdefault("limit", PAGE_SIZE)
    listing = svc.list_orders(args)
    now = svc.clock()
    rows = [(o, deadline_view(o, now)) for o in listing["orders"]]
    filters: dict[str, Any] = {k: args[k] for k in ("status", "kind", "issuer_id") if k in args}
    return page(
        "ui/orders.html", rows=rows, filters=filters, counts=svc.open_counts(),
        statuses=STATUSES, kinds=KINDS, issuers=svc.config.issuers,
        next_page=(url_for("ui.orders", **filters, cursor=listing["next_cursor"])
                   if listing["next_cursor"] else None),
        first_page=url_for("ui.orders", **filters) if "cursor" in args else None,
    )


def _order_page(issuer_id: str, order_id: str, status: int = 200, **extra: Any) -> Any:
    svc = service()
    order = svc.get_order(issuer_id, order_id)
    issuer = svc.config.issuer(issuer_id)
    shown = item_page(order["items"], request.args.get("items_page"))
    decided = [i["item_id"] for i in shown["items"] if i["action"] is not None]
    return page(
        "ui/order.html", status, order=order, deadline=deadline_view(order, svc.clock()),
        issuer_name=issuer.name if issuer is not None else None,
        actions=RECORDABLE_ACTIONS, effect_actions=EFFECT_ACTIONS, encode_item=encode_item,
        open_items=sum(1 for i in order["items"] if i["action"] is None),
        item_page=shown, notifier=notifier_view(order),
        statements=svc.item_statements(issuer_id, order_id, decided) if decided else [],
        other_fields={k: v for k, v in order.items() if k not in _SHOWN and v is not None},
        form_error=extra.pop("form_error", None), form_values=extra.pop("form_values", {}),
        **extra,
    )


@bp.get("/orders/<issuer_id>/<order_id>")
def order(issuer_id: str, order_id: str) -> Any:
    return _order_page(issuer_id, order_id)


@bp.post("/orders/<issuer_id>/<order_id>/action")
def act(issuer_id: str, order_id: str) -> Any:
    """One form per item (``item`` names it) and one for every open item (no ``item``)."""
    encoded = request.form.get("item")
    item_id = decode_item(encoded) if encoded is not None else None
    target = encoded or "all"
    try:
        if encoded is not None and item_id is None:
            raise UnknownItem("No such item.")
        result = service().act(issuer_id, order_id, item_id, action_body(request.form),
                               actor=g.actor)
    except (InvalidPayload, Conflict, OrderWithdrawn, UnknownItem) as exc:
        return _order_page(issuer_id, order_id, exc.status,
                           form_error=_form_error(target, exc),
                           form_values={"target": target, **request.form})
    if item_id is not None:
        flash(f"Recorded {result['action']} on item {item_id}.", "ok")
    else:
        done = [i for i in result["items"] if i["action"] is not None]
        flash(f"Recorded the action on every open item ({len(done)} of "
              f"{len(result['items'])} items now have an action).", "ok")
    back = request.args.get("items_page") or None  # the page of items the form was on
    return redirect(url_for("ui.order", issuer_id=issuer_id, order_id=order_id,
                            items_page=back) + "#items", 303)


def _form_error(target: str, exc: ComplianceError) -> dict[str, Any]:
    """The error shown beside the form that caused it: the message and per-field messages."""
    fields = exc.fields or {}
    return {"target": target, "code": exc.code, "message": exc.message,
            "fields": {k: "; ".join(map(str, v)) if isinstance(v, list) else str(v)
                       for k, v in fields.items()}}
