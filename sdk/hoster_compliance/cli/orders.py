"""The operator's commands on orders: ``orders`` (list) and ``act``."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from ..errors import ComplianceError
from ..orders import reads as queries
from ..timeutil import parse_time
from ..vocabulary import BASES
from .group import cli, config_option, fail, load_checked, open_service


@cli.command()
@config_option
@click.option("--status", default="open", show_default=True,
              type=click.Choice(queries.STATUSES))
@click.option("--json", "as_json", is_flag=True, help="Print the API's shape {\"orders\": [...]}.")
def orders(config_path: str, status: str, as_json: bool) -> None:
    """List orders, deadline first."""
    service = open_service(load_checked(config_path))
    try:
        found = list(service.iter_orders(status))
    except ComplianceError as exc:
        fail(f"{exc.code}: {exc.message}")
    if as_json:
        click.echo(json.dumps({"orders": found}, indent=2))
        return
    if not found:
        click.echo(f"no {status} orders" if status != "all" else "no orders")
        return
    header = f"{'DEADLINE':<22} {'STATUS':<10} {'ISSUER':<14} {'ORDER':<24} {'KIND':<7} " \
             f"{'ITEMS':>7}  ACK"
    click.echo(header)
    for o in found:
        status_text = "OVERDUE" if o["overdue"] else o["status"]
        click.echo(
            f"{o['deadline'] or '-':<22} {status_text:<10} {o['issuer_id']:<14} "
            f"{o['order_id']:<24} {o['kind']:<7} "
            f"{o['items_resolved']:>3}/{o['items_total']:<3}  "
            f"{'yes' if o['acknowledged_at'] else 'no'}"
        )


@cli.command(context_settings={"ignore_unknown_options": False})
@config_option
@click.argument("args", nargs=-1, required=True)
@click.option("--all", "all_items", is_flag=True, help="Act on every item without an action.")
@click.option("--at", "acted_at", default=None, help="When it was done (RFC 3339); default now.")
@click.option("--reason", default=None, help="Required for `refused` and `reinstated`.")
@click.option("--basis", type=click.Choice(BASES), default=None)
@click.option("--automated", is_flag=True, help="The action was taken by automated means.")
def act(config_path: str, args: tuple[str, ...], all_items: bool, acted_at: str | None,
        reason: str | None, basis: str | None, automated: bool) -> None:
    """Record an action: ISSUER_ID ORDER_ID (ITEM_ID | --all) ACTION."""
    expected = 3 if all_items else 4
    if len(args) != expected:
        fail("usage: act --config FILE ISSUER_ID ORDER_ID (ITEM_ID|--all) ACTION "
             f"[--at TIME] [--reason TEXT] (got {len(args)} arguments)")
    issuer_id, order_id = args[0], args[1]
    item_id = None if all_items else args[2]
    body: dict[str, Any] = {"action": args[-1]}
    if acted_at is not None:
        try:
            parse_time(acted_at)
        except ValueError:
            fail("--at: not an RFC 3339 time with an offset (e.g. 2026-11-22T09:30:00Z)")
        body["acted_at"] = acted_at
    for key, value in (("reason", reason), ("basis", basis)):
        if value is not None:
            body[key] = value
    if automated:
        body["automated"] = True
    service = open_service(load_checked(config_path))
    try:
        result = service.act(issuer_id, order_id, item_id, body,
                             actor=f"cli:{getpass.getuser()}")
    except ComplianceError as exc:
        details = ""
        if exc.fields:
            details = " (" + json.dumps(exc.fields, separators=(",", ":")) + ")"
        fail(f"{exc.code}: {exc.message}{details}")
    click.echo(json.dumps(result, indent=2))
