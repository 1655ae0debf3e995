"""Ed25519 end to end (issue 15): an issuer configured with only a public key sends a v1a-signed
order over real HTTP, the receiver stores it, and the acknowledgement comes back signed with the
hoster's own key and verifies against the key list fetched from the well-known route. Then the
README's Ed25519 demo as a newcomer runs it: `serve` and `issuer_simulator.py --ed25519`."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from hoster_compliance.config import Config, IssuerConfig
from hoster_compliance.issuer import CallbackServer, IssuerSender, fetch_public_keys
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance_receiver import create_app
from tests.helpers import ROOT, TOKEN, LiveServer, order_data
from tests.helpers.processes import Receiver, free_port

# The demo keys of examples/demo_ed25519.toml and the README.
DEMO_HOSTER_KEY = "whsk_ZGVtbyBob3N0ZXIga2V5IC0gbmV2ZXIgdXNlIGl0ISE="
DEMO_ISSUER_KEY = "whsk_ZGVtbyBpc3N1ZXIga2V5IC0gbmV2ZXIgdXNlIGl0ISE="


def acknowledged_order(base_url: str, timeout: float = 10.0) -> requests.Response:
    """The order's detail once the worker has recorded the issuer's 2xx (it answers the
    acknowledgement before the worker commits ``acknowledged_at``)."""
    deadline = time.monotonic() + timeout
    while True:
        stored = requests.get(f"{base_url}/v1/orders/eu-tco/ord-1", timeout=10,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        if stored.json().get("acknowledged_at") or time.monotonic() > deadline:
            return stored
        time.sleep(0.05)


def test_a_public_key_issuer_gets_an_acknowledgement_signed_with_the_published_key(
    db_url: str,
) -> None:
    issuer_key, issuer_public = ed25519.generate_key_pair()
    hoster_key, _ = ed25519.generate_key_pair()
    callback_port = free_port()
    config = Config(
        hoster_id="example-hosting", database_url=db_url, operator_tokens=(TOKEN,),
        signing_keys=(hoster_key,),
        issuers=(IssuerConfig(id="eu-tco", member_state="NL", public_keys=(issuer_public,),
                              api_base=f"http://127.0.0.1:{callback_port}",
                              default_regime="EU_TCO"),),
    )
    assert config.issuers[0].secrets == ()  # nothing shared: the hoster holds a public key
    app = create_app(config, start_worker=True)  # real clock, in-process worker
    try:
        with LiveServer(app) as receiver:
            published = fetch_public_keys(receiver.url)  # what the issuer trusts, by HTTP
            with CallbackServer(public_keys=published, port=callback_port) as issuer, \
                    IssuerSender(receiver.url, "eu-tco", signing_keys=issuer_key) as sender:
                response = sender.send_order(order_data(regime="EU_TCO",
                                                        issued_at="2026-01-01T00:00:00Z"))
                assert response.status_code == 201, response.text
                (ack,) = issuer.wait_for(1, timeout=10.0)
            stored = acknowledged_order(receiver.url)
    finally:
        app.extensions["hoster_compliance_worker"].stop()
        app.extensions["hoster_compliance"].engine.dispose()
    assert sender.headers_for(b"{}")["webhook-signature"].startswith("v1a,")
    assert stored.status_code == 200 and stored.json()["items_total"] == 2
    assert stored.json()["acknowledged_at"] is not None
    assert [ed25519.public_key_text(k) for k in published] == [
        ed25519.public_key_text(ed25519.parse_signing_key(hoster_key))]
    assert ack.verified and ack.status == 200
    assert ack.headers["webhook-signature"].startswith("v1a,")
    assert ack.path == "/v1/orders/ord-1/acknowledgement"
    assert ack.payload["data"]["received_at"] == response.json()["received_at"]


def test_an_issuer_refetches_the_published_keys_when_the_hoster_has_rotated(db_url: str) -> None:
    """The issuer fetched the hoster's key list, then the hoster rotated to a new key (and has
    already dropped the old one): the acknowledgement, signed with the new key only, verifies
    after the CallbackServer fetched the list again from the real receiver."""
    issuer_key, issuer_public = ed25519.generate_key_pair()
    old_key, new_key = ed25519.generate_key_pair()[0], ed25519.generate_key_pair()[0]
    callback_port = free_port()

    def hoster(*signing_keys: str, worker: bool) -> Any:
        return create_app(Config(
            hoster_id="example-hosting", database_url=db_url, operator_tokens=(TOKEN,),
            signing_keys=signing_keys,
            issuers=(IssuerConfig(id="eu-tco", member_state="NL", public_keys=(issuer_public,),
                                  api_base=f"http://127.0.0.1:{callback_port}",
                                  default_regime="EU_TCO"),),
        ), start_worker=worker)

    before, after = hoster(old_key, worker=False), hoster(new_key, worker=True)
    serving = [before]  # what the receiver's address serves: a restart swaps it

    def receiver_app(environ: Any, start_response: Any) -> Any:
        return serving[0](environ, start_response)

    try:
        with LiveServer(receiver_app) as receiver:
            published = fetch_public_keys(receiver.url)
            with CallbackServer(public_keys=published, hoster_url=receiver.url,
                                port=callback_port) as issuer, \
                    IssuerSender(receiver.url, "eu-tco", signing_keys=issuer_key) as sender:
                serving[0] = after  # the hoster restarts with only the new key
                response = sender.send_order(order_data(regime="EU_TCO",
                                                        issued_at="2026-01-01T00:00:00Z"))
                assert response.status_code == 201, response.text
                (ack,) = issuer.wait_for(1, timeout=10.0)
    finally:
        after.extensions["hoster_compliance_worker"].stop()
        for app in (before, after):
            app.extensions["hoster_compliance"].engine.dispose()
    assert [ed25519.public_key_text(k) for k in published] == [
        ed25519.public_key_text(ed25519.parse_signing_key(old_key))]
    assert ack.verified and ack.status == 200 and issuer.key_fetches == 1
    assert [ed25519.public_key_text(k) for k in issuer.public_keys] == [
        ed25519.public_key_text(ed25519.parse_signing_key(new_key))]


def test_readme_ed25519_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"HC_DEMO_SIGNING_KEY={DEMO_HOSTER_KEY}" in readme
    assert f"HC_ISSUER_SIGNING_KEY={DEMO_ISSUER_KEY}" in readme
    callback_port = free_port()
    demo = (ROOT / "examples" / "demo_ed25519.toml").read_text()
    demo = demo.replace("http://127.0.0.1:9100", f"http://127.0.0.1:{callback_port}")
    config = tmp_path / "demo_ed25519.toml"
    config.write_text(demo)
    monkeypatch.setenv("HC_DEMO_SIGNING_KEY", DEMO_HOSTER_KEY)  # inherited by both processes
    monkeypatch.setenv("HC_ISSUER_SIGNING_KEY", DEMO_ISSUER_KEY)
    simulator = [sys.executable, str(ROOT / "examples" / "issuer_simulator.py"),
                 "--config", str(config)]
    with Receiver(config, free_port(), tmp_path / "serve.log") as receiver:
        result = subprocess.run([*simulator, "--receiver", receiver.url, "--ed25519"],
                                capture_output=True, text=True, timeout=60)
        without = subprocess.run([*simulator, "--receiver", receiver.url],
                                 capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HTTP 201" in result.stdout
    hoster_kid = ed25519.kid(ed25519.parse_signing_key(DEMO_HOSTER_KEY))
    assert f"the hoster publishes {hoster_kid}" in result.stdout
    assert re.search(r"acknowledgement received \d+ ms after the 2xx; signature verified \(v1a\)",
                     result.stdout)
    # This issuer shares no secret with the hoster: without --ed25519 there is nothing to sign.
    assert without.returncode == 2
    assert without.stderr.strip().splitlines() == [
        "issuer_simulator: issuer nl-atkm has no secrets, only public keys: use --ed25519"]
