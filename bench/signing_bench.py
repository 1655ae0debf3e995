"""Signature benchmark: verifications (and signatures) per second of Standard Webhooks v1 (HMAC-
SHA256) and v1a (Ed25519), through the same ``signing.verify`` the receiver calls on every order,
in one process and one run, interleaved round by round so that background load hits all alike.

    python bench/signing_bench.py [--seconds 1.0] [--rounds 5] [--json results.json]

Cases (a realistic ~700-byte order body, headers as a dict):
  verify v1            one secret configured, one v1 token
  verify v1a           one public key configured (parsed once, as the configuration does)
  verify v1a, 2 keys   two public keys, the token's key listed second (an issuer mid-rotation)
  verify v1a, 8 junk   eight 64-byte junk v1a tokens before the good one (the cap: refused)
  sign v1 / sign v1a   what the hoster spends per callback attempt
The figure of each case is the median of the rounds, per second of the process's CPU time. Never
a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography

from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000


def order_body() -> bytes:
    data = {
        "order_id": "bench-1", "kind": "order", "regime": "NL_ATKM",
        "legal_basis": "Wet bestuursrechtelijke aanpak OKM, art. 6",
        "statement_of_reasons": "Known child sexual abuse material (hash match).",
        "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "issued_at": "2026-11-22T08:55:00Z",
        "items": [{"item_id": f"i{n}", "url": f"https://files.example-hosting.nl/u/bench-1/{n}",
                   "content_hash": {"algorithm": "sha256", "value": "ab" * 32}} for n in (1, 2)],
    }
    return json.dumps({"type": "order.created", "timestamp": "2026-11-22T09:00:00Z",
                       "data": data}).encode()


def cases() -> dict[str, Callable[[], object]]:
    body = order_body()
    key = ed25519.parse_signing_key(ed25519.generate_key_pair()[0])
    other = ed25519.parse_signing_key(ed25519.generate_key_pair()[0])
    public, other_public = key.public_key(), other.public_key()
    v1 = signing.signature_headers(SECRET, "msg_bench", body, timestamp=NOW)
    v1a = signing.signature_headers(None, "msg_bench", body, timestamp=NOW, signing_keys=[key])
    junk = " ".join(f"v1a,{base64.b64encode(bytes([n]) * 64).decode()}"
                    for n in range(ed25519.MAX_TOKENS))
    stuffed = {**v1a, "webhook-signature": f"{junk} {v1a['webhook-signature']}"}
    assert signing.is_valid([SECRET], v1, body, now=NOW)
    assert signing.is_valid([], v1a, body, now=NOW, public_keys=[other_public, public])
    assert not signing.is_valid([], stuffed, body, now=NOW, public_keys=[public])
    return {
        "verify v1": lambda: signing.verify([SECRET], v1, body, now=NOW),
        "verify v1a": lambda: signing.verify([], v1a, body, now=NOW, public_keys=[public]),
        "verify v1a, 2 keys": lambda: signing.verify([], v1a, body, now=NOW,
                                                     public_keys=[other_public, public]),
        "verify v1a, 8 junk": lambda: signing.is_valid([], stuffed, body, now=NOW,
                                                       public_keys=[public]),
        "sign v1": lambda: signing.signature_headers(SECRET, "msg_bench", body, timestamp=NOW),
        "sign v1a": lambda: signing.signature_headers(None, "msg_bench", body, timestamp=NOW,
                                                      signing_keys=[key]),
    }


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of this process's CPU time, over about ``seconds`` of it (batches of
    100 between clock reads). CPU time, not wall time: on a shared, loaded machine the wall
    clock also counts the time other processes held the cores."""
    done, started = 0, time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(100):
            call()
        done += 100
        now = time.process_time()
        if now >= deadline:
            return done / (now - started)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{model}, {os.cpu_count()} cores, load average {load:.1f}; Python "
            f"{platform.python_version()}, cryptography {cryptography.__version__} "
            f"(OpenSSL Ed25519)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="CPU seconds per case and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    print(machine(), flush=True)
    todo = cases()
    rounds: dict[str, list[float]] = {name: [] for name in todo}
    for n in range(args.rounds):
        for name, call in todo.items():
            rounds[name].append(rate(call, args.seconds))
        print(f"round {n + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    results: dict[str, Any] = {"machine": machine(), "settings": vars(args), "cases": {}}
    base = statistics.median(rounds["verify v1"])
    for name, rates in rounds.items():
        median = statistics.median(rates)
        results["cases"][name] = {"per_second": median, "us_each": 1e6 / median,
                                  "rounds": rates}
        relative = f"{base / median:6.1f} x verify v1" if name.startswith("verify") else ""
        print(f"{name:20} {median:11,.0f} /CPU s  {1e6 / median:8.1f} us CPU each  {relative}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
