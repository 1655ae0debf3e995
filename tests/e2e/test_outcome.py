"""End to end over real HTTP on loopback: an order arrives, an operator acts on one item through
the API and on the other through the CLI, and the issuer receives a verified outcome."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.timeutil import parse_time
from hoster_compliance_receiver import create_app
from tests.helpers import (
    AUTH,
    ISSUER_SECRET,
    LiveServer,
    make_config,
    order_data,
    write_config_file,
)


def test_api_and_cli_actions_reach_the_issuer_as_one_verified_outcome(
    db_url: str, tmp_path: Path
) -> None:
    with CallbackServer(ISSUER_SECRET) as issuer:
        app = create_app(make_config(db_url, api_base=issuer.url), start_worker=True)
        config_path = write_config_file(tmp_path, db_url)
        try:
            with LiveServer(app) as receiver, \
                    IssuerSender(receiver.url, "nl-atkm", ISSUER_SECRET) as sender:
                assert sender.send_order(order_data(issued_at="2026-01-01T00:00:00Z")
                                         ).status_code == 201
                api = requests.post(
                    f"{receiver.url}/v1/orders/nl-atkm/ord-1/items/i1/action",
                    json={"action": "removed"}, headers=AUTH, timeout=10)
                assert api.status_code == 200, api.text
                listed = requests.get(f"{receiver.url}/v1/orders?status=open", headers=AUTH,
                                      timeout=10).json()["orders"]
                assert [(o["order_id"], o["items_resolved"]) for o in listed] == [("ord-1", 1)]
                result = CliRunner().invoke(cli, ["act", "--config", config_path, "nl-atkm",
                                                  "ord-1", "i2", "not_found"])
                assert result.exit_code == 0, result.output
                # The CLI committed the outcome in another "process"; the server's worker polls
                # the outbox at least once a second and sends it.
                got = issuer.wait_for(
                    lambda r: any(c.path.endswith("/outcome") for c in r), timeout=15)
        finally:
            app.extensions["hoster_compliance_worker"].stop()
            app.extensions["hoster_compliance"].engine.dispose()
    outcome = next(c for c in got if c.path.endswith("/outcome"))
    assert outcome.verified
    data = outcome.payload["data"]
    assert [(i["item_id"], i["action"]) for i in data["items"]] == [
        ("i1", "removed"), ("i2", "not_found")]
    assert parse_time(data["completed_at"]) == max(parse_time(i["acted_at"])
                                                   for i in data["items"])
    assert json.loads(outcome.body)["type"] == "order.outcome"
