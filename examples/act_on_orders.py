"""The manual path for a small hoster, from a shell: list what is open, act, check.

Walks through the open orders (deadline first) and asks, per item, what was done. It records the
answer exactly as `hoster-compliance act` would, so the issuer gets the outcome automatically.

    python examples/act_on_orders.py --config hoster.toml

The same from the command line, one step at a time:

    hoster-compliance orders --config hoster.toml                 # what is open, deadline first
    hoster-compliance act --config hoster.toml nl-atkm ORDER 1 removed
    hoster-compliance act --config hoster.toml nl-atkm ORDER --all not_found
    hoster-compliance orders --config hoster.toml --status overdue
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from hoster_compliance import ComplianceError, ComplianceService, ConfigError, load_config

CHOICES = {"r": "removed", "d": "disabled", "g": "geo_blocked", "n": "not_found",
           "h": "not_hosted", "x": "refused", "s": None}


def walk(service: ComplianceService, ask: Callable[[str], str], say: Callable[[str], None],
         actor: str) -> int:
    """Ask about every item of every open order; returns the number of actions recorded."""
    recorded = 0
    open_orders = list(service.iter_orders("open"))
    if not open_orders:
        say("nothing is open")
    for summary in open_orders:
        order = service.get_order(summary["issuer_id"], summary["order_id"])
        flag = "  OVERDUE" if order["overdue"] else ""
        say(f"\n{order['issuer_id']}/{order['order_id']} ({order['kind']}, {order['regime']}) "
            f"deadline {order['deadline'] or 'none'}{flag}")
        say(f"  {order.get('statement_of_reasons') or ''}")
        for item in order["items"]:
            if item["action"] is not None:
                continue
            answer = ask(f"  {item['item_id']} {item['url']}\n"
                         "    [r]emoved [d]isabled [g]eo_blocked [n]ot_found not_[h]osted "
                         "refused[x] [s]kip: ").strip().lower()[:1]
            action = CHOICES.get(answer)
            if action is None:
                continue
            body: dict[str, object] = {"action": action}
            if action == "refused":
                body["reason"] = ask("    reason: ").strip()
            try:
                service.act(order["issuer_id"], order["order_id"], item["item_id"], body,
                            actor=f"cli:{actor}")
                recorded += 1
            except ComplianceError as exc:
                say(f"    not recorded: {exc.code}: {exc.message}")
    return recorded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Act on open orders interactively")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"act_on_orders: bad configuration: {exc.key}: {exc.problem}", file=sys.stderr)
        return 2
    service = ComplianceService(config)
    count = walk(service, input, print, getpass.getuser())
    print(f"\n{count} action(s) recorded; the issuers get the outcome from the running worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
