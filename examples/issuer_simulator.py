"""Play an issuer (here: the Dutch ATKM) against a running receiver.

Signs and sends a sample CSAM removal order under NL_ATKM, listens for the acknowledgement on the
issuer's ``api_base`` port from the configuration, verifies its signature and prints what came back
and how long it took. Exit status 0 when a verified acknowledgement arrived, 1 otherwise.

    python examples/issuer_simulator.py --config examples/demo.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hoster_compliance import ConfigError, load_config
from hoster_compliance.issuer import CallbackServer, IssuerSender
from hoster_compliance.timeutil import format_time


def sample_order(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "kind": "order",
        "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak online kinderpornografisch materiaal, "
                       "art. 6",
        "statement_of_reasons": "Known child sexual abuse material, matched by hash.",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "issued_at": format_time(datetime.now(UTC)),
        "confidential": True,
        "preserve_for_days": 180,
        "items": [
            {"item_id": "1", "url": "https://files.example-hosting.nl/u/42/a.jpg",
             "content_hash": {"algorithm": "sha256", "value": "ab" * 32}},
            {"item_id": "2", "url": "https://files.example-hosting.nl/u/42/b.jpg"},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the receiver's TOML configuration")
    parser.add_argument("--receiver", default="http://127.0.0.1:8080")
    parser.add_argument("--issuer", default=None, help="issuer id (default: the first one)")
    parser.add_argument("--order-id", default=None)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"issuer_simulator: bad configuration: {exc.key}: {exc.problem}", file=sys.stderr)
        return 2
    issuer = config.issuer(args.issuer) if args.issuer else config.issuers[0]
    if issuer is None:
        print(f"issuer_simulator: no issuer {args.issuer!r} in the configuration", file=sys.stderr)
        return 2
    listen = urlsplit(issuer.api_base)
    order_id = args.order_id or f"sim-{uuid.uuid4().hex[:12]}"
    with CallbackServer(issuer.secrets, host=listen.hostname or "127.0.0.1",
                        port=listen.port or 80) as callbacks, \
            IssuerSender(args.receiver, issuer.id, issuer.signing_secret) as sender:
        print(f"issuer {issuer.id}: listening for callbacks on {callbacks.url}")
        started = time.monotonic()
        response = sender.send_order(sample_order(order_id))
        answered = time.monotonic()
        print(f"sent order {order_id}: HTTP {response.status_code} "
              f"in {(answered - started) * 1000:.0f} ms")
        print(json.dumps(response.json(), indent=2))
        if response.status_code not in (200, 201):
            return 1
        got = callbacks.wait_for(
            lambda received: any(c.path.endswith("/acknowledgement") for c in received),
            timeout=args.timeout,
        )
        acks = [c for c in got if c.path.endswith("/acknowledgement")]
        if not acks:
            print(f"no acknowledgement within {args.timeout:.0f} s", file=sys.stderr)
            return 1
        ack = acks[0]
        print(f"acknowledgement received {(ack.received_at - answered) * 1000:.0f} ms after "
              f"the 2xx; signature {'verified' if ack.verified else 'INVALID: ' + str(ack.error)}")
        print(json.dumps(ack.payload, indent=2))
        return 0 if ack.verified else 1


if __name__ == "__main__":
    sys.exit(main())
