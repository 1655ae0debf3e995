"""Play an issuer (here: the Dutch ATKM) against a running receiver.

Signs and sends a sample CSAM removal order under NL_ATKM, listens for the acknowledgement on the
issuer's ``api_base`` port from the configuration, verifies its signature and prints what came back
and how long it took. Exit status 0 when a verified acknowledgement arrived, 1 otherwise, 2 on bad
usage.

    python examples/issuer_simulator.py --config examples/demo.toml

With ``--ed25519`` it plays an issuer that signs with Ed25519 (Standard Webhooks ``v1a``): its
signing key comes from the variable named by ``--signing-key-env`` (the hoster's configuration
holds only the public key), and the acknowledgement is verified against the keys the hoster
publishes at ``/.well-known/hoster-compliance/keys``, never against a shared secret.

    HC_ISSUER_SIGNING_KEY=whsk_... python examples/issuer_simulator.py \
        --config examples/demo_ed25519.toml --ed25519

With ``--wait-outcome SECONDS`` it then keeps listening until the hoster has acted on every item
(in the dashboard, the API or the CLI) and prints the verified outcome; exit status 1 when none
arrived in time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hoster_compliance import ComplianceError, ConfigError, IssuerConfig, load_config
from hoster_compliance.issuer import CallbackServer, IssuerSender, fetch_public_keys
from hoster_compliance.protocol import keys as ed25519
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


def fail(message: str) -> int:
    print(f"issuer_simulator: {message}", file=sys.stderr)
    return 2


@dataclass
class Keys:
    """What the simulated issuer signs with and verifies callbacks against."""

    secrets: tuple[str, ...] = ()
    signing_keys: tuple[ed25519.Ed25519PrivateKey, ...] = ()
    hoster_keys: tuple[ed25519.Ed25519PublicKey, ...] = ()


def ed25519_keys(args: argparse.Namespace, issuer: IssuerConfig) -> Keys | str:
    """The issuer's Ed25519 key and the hoster's published keys, or what is wrong."""
    text = os.environ.get(args.signing_key_env, "").strip()
    if not text:
        return (f"--ed25519: set {args.signing_key_env} to the issuer's signing key (whsk_...; "
                "hoster-compliance keys generate)")
    try:
        key = ed25519.parse_signing_key(text)
    except ValueError as exc:
        return f"--ed25519: {args.signing_key_env} {exc}"
    kid = ed25519.kid(key)
    if kid not in {ed25519.kid(k) for k in issuer.verify_keys}:
        return (f"--ed25519: issuer {issuer.id} does not list this key's public key "
                f"{ed25519.public_key_text(key)} (kid {kid}) in its public_keys")
    try:
        hoster_keys = fetch_public_keys(args.receiver, timeout=args.timeout)
    except ComplianceError as exc:
        return f"--ed25519: cannot fetch the hoster's public keys: {exc.message}"
    if not hoster_keys:
        return "--ed25519: the hoster publishes no keys (is its signing_key_env set?)"
    print(f"issuer {issuer.id}: signs with Ed25519 key {kid}; the hoster publishes "
          f"{', '.join(ed25519.kid(k) for k in hoster_keys)}")
    return Keys(signing_keys=(key,), hoster_keys=tuple(hoster_keys))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the receiver's TOML configuration")
    parser.add_argument("--receiver", default="http://127.0.0.1:8080")
    parser.add_argument("--issuer", default=None, help="issuer id (default: the first one)")
    parser.add_argument("--order-id", default=None)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--ed25519", action="store_true",
                        help="sign with Ed25519 (v1a) and verify callbacks against the hoster's "
                             "published keys")
    parser.add_argument("--signing-key-env", default="HC_ISSUER_SIGNING_KEY",
                        help="with --ed25519: the variable holding the issuer's whsk_ key")
    parser.add_argument("--wait-outcome", type=float, default=0.0, metavar="SECONDS",
                        help="then wait this long for the outcome (someone acts on the order)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return fail(f"bad configuration: {exc.key}: {exc.problem}")
    issuer = config.issuer(args.issuer) if args.issuer else config.issuers[0]
    if issuer is None:
        return fail(f"no issuer {args.issuer!r} in the configuration")
    keys: Keys | str = Keys(secrets=issuer.secrets)
    if args.ed25519:
        keys = ed25519_keys(args, issuer)
    elif not issuer.secrets:
        keys = f"issuer {issuer.id} has no secrets, only public keys: use --ed25519"
    if isinstance(keys, str):
        return fail(keys)
    listen = urlsplit(issuer.api_base)
    order_id = args.order_id or f"sim-{uuid.uuid4().hex[:12]}"
    # With --ed25519, a callback signed by a key the hoster added since makes the server fetch
    # the hoster's list again (at most once a minute) before it refuses it.
    with CallbackServer(keys.secrets, public_keys=keys.hoster_keys,
                        hoster_url=args.receiver if keys.hoster_keys else None,
                        host=listen.hostname or "127.0.0.1", port=listen.port or 80) as callbacks, \
            IssuerSender(args.receiver, issuer.id, keys.secrets[-1:],  # the newest secret signs
                         signing_keys=keys.signing_keys) as sender:
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
        versions = sorted({token.partition(",")[0] for token in
                           ack.headers.get("webhook-signature", "").split()})
        print(f"acknowledgement received {(ack.received_at - answered) * 1000:.0f} ms after "
              f"the 2xx; signature {'verified' if ack.verified else 'INVALID: ' + str(ack.error)}"
              f" ({', '.join(versions)})")
        print(json.dumps(ack.payload, indent=2))
        if not ack.verified:
            return 1
        if args.wait_outcome > 0:
            return wait_for_outcome(callbacks, args, issuer.id, order_id)
        return 0


def wait_for_outcome(callbacks: CallbackServer, args: argparse.Namespace, issuer_id: str,
                     order_id: str) -> int:
    """Wait for the hoster to act on every item, then print the verified outcome."""
    print(f"waiting up to {args.wait_outcome:.0f} s for the outcome: act on the order at "
          f"{args.receiver}/ui/orders/{issuer_id}/{order_id}", flush=True)
    try:
        got = callbacks.wait_for(
            lambda received: any(c.path.endswith("/outcome") for c in received),
            timeout=args.wait_outcome,
        )
    except TimeoutError:
        print(f"no outcome within {args.wait_outcome:.0f} s", file=sys.stderr)
        return 1
    outcome = next(c for c in got if c.path.endswith("/outcome"))
    print(f"outcome received; signature "
          f"{'verified' if outcome.verified else 'INVALID: ' + str(outcome.error)}")
    print(json.dumps(outcome.payload, indent=2), flush=True)
    return 0 if outcome.verified else 1


if __name__ == "__main__":
    sys.exit(main())
