"""v1a in the receiver: orders signed with an issuer's Ed25519 key, the published key list, and
callbacks signed with the hoster's keys (PROTOCOL 1, from v1.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from hoster_compliance.config import Config, IssuerConfig
from hoster_compliance.delivery.outbox import DeliveryWorker
from hoster_compliance.issuer import CallbackServer, IssuerSender, parse_key_list
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing
from hoster_compliance.service import ComplianceService
from hoster_compliance_receiver import create_app
from tests.helpers import ISSUER_SECRET, TOKEN, FakeClock, order_data
from tests.helpers.keys import OTHER_SIGNING_KEY, PUBLIC_KEY, SIGNING_KEY
from tests.helpers.webhooks import envelope

OLD_HOSTER_KEY, OLD_HOSTER_PUBLIC = ed25519.generate_key_pair()
HOSTER_KEY, HOSTER_PUBLIC = ed25519.generate_key_pair()
KEYS_URL = "/.well-known/hoster-compliance/keys"


def keyed_config(db_url: str, api_base: str, signing_keys: tuple[str, ...] = (
        OLD_HOSTER_KEY, HOSTER_KEY)) -> Config:
    issuers = (
        # An authority that signs with Ed25519 only: the hoster holds its public key alone.
        IssuerConfig(id="eu-tco", member_state="NL", api_base=api_base,
                     public_keys=(PUBLIC_KEY,), default_regime="EU_TCO"),
        # One in transition: HMAC and Ed25519 both accepted, callbacks still v1.
        IssuerConfig(id="nl-atkm", member_state="NL", api_base=api_base,
                     secrets=(ISSUER_SECRET,), public_keys=(ed25519.public_key_text(
                         ed25519.parse_signing_key(OTHER_SIGNING_KEY)),)),
    )
    return Config(hoster_id="example-hosting", database_url=db_url, operator_tokens=(TOKEN,),
                  issuers=issuers, signing_keys=signing_keys)


@pytest.fixture
def hoster_keys_issuer(clock: FakeClock) -> Iterator[CallbackServer]:
    """An issuer endpoint that verifies callbacks against the newest hoster key only."""
    with CallbackServer(public_keys=[HOSTER_PUBLIC], clock=clock.timestamp) as server:
        yield server


@pytest.fixture
def keyed(db_url: str, clock: FakeClock,
          hoster_keys_issuer: CallbackServer) -> Iterator[ComplianceService]:
    service = ComplianceService(keyed_config(db_url, hoster_keys_issuer.url), clock=clock)
    yield service
    service.engine.dispose()


@pytest.fixture
def keyed_client(keyed: ComplianceService) -> Any:
    app = create_app(keyed.config, service=keyed)
    app.testing = True
    return app.test_client()


def post(client: Any, clock: FakeClock, issuer_id: str, data: dict[str, Any],
         **signing: Any) -> Any:
    sender = IssuerSender("http://unused", issuer_id, clock=clock.timestamp, **signing)
    body = json.dumps(envelope(data)).encode()
    headers = sender.headers_for(body)
    sender.close()
    return client.post(f"/v1/webhooks/{issuer_id}", data=body, headers=headers)


# -- orders signed v1a -----------------------------------------------------------------------


def test_an_order_signed_with_the_issuers_key_is_stored(keyed_client: Any,
                                                        clock: FakeClock) -> None:
    response = post(keyed_client, clock, "eu-tco", order_data(regime="EU_TCO"),
                    signing_keys=SIGNING_KEY)
    assert response.status_code == 201, response.json
    assert response.json["deadline"] == "2026-11-22T10:00:00Z"  # EU_TCO: 1 h
    stored = keyed_client.get("/v1/orders/eu-tco/ord-1",
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert stored.status_code == 200 and stored.json["items_total"] == 2


@pytest.mark.parametrize("signing", [
    {"signing_keys": OTHER_SIGNING_KEY},  # another issuer's key
    {"secret": ISSUER_SECRET},            # an HMAC secret: this issuer has none
])
def test_anything_but_the_issuers_own_key_is_401(keyed_client: Any, clock: FakeClock,
                                                 signing: dict[str, Any]) -> None:
    response = post(keyed_client, clock, "eu-tco", order_data(), **signing)
    assert response.status_code == 401
    assert response.json == {"error": "invalid_signature", "message": "no v1a signature matches"}


@pytest.mark.parametrize("signing", [{"secret": ISSUER_SECRET},
                                     {"signing_keys": OTHER_SIGNING_KEY}])
def test_an_issuer_with_a_secret_and_a_key_may_use_either(keyed_client: Any, clock: FakeClock,
                                                          signing: dict[str, Any]) -> None:
    assert post(keyed_client, clock, "nl-atkm", order_data(), **signing).status_code == 201
    wrong = post(keyed_client, clock, "nl-atkm", order_data("ord-2"), signing_keys=SIGNING_KEY)
    assert wrong.status_code == 401
    assert wrong.json["message"] == "no v1 or v1a signature matches"


# -- the published keys ----------------------------------------------------------------------


def test_the_hosters_keys_are_published_without_a_token(keyed_client: Any) -> None:
    response = keyed_client.get(KEYS_URL)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.json == {"keys": [
        {"kid": ed25519.kid(ed25519.parse_public_key(public)), "alg": "ed25519",
         "public_key": public} for public in (OLD_HOSTER_PUBLIC, HOSTER_PUBLIC)]}
    assert [ed25519.public_key_text(k) for k in parse_key_list(response.json)] == [
        OLD_HOSTER_PUBLIC, HOSTER_PUBLIC]
    assert OLD_HOSTER_KEY[5:] not in response.text and HOSTER_KEY[5:] not in response.text
    doc = keyed_client.get("/openapi.json").json
    schema = doc["paths"][KEYS_URL]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"]
    assert list(OAS30Validator(schema).iter_errors(response.json)) == []
    assert not OAS30Validator(schema).is_valid({"keys": [{"kid": "x", "alg": "ed25519",
                                                          "public_key": PUBLIC_KEY}]})


def test_a_hoster_without_keys_publishes_an_empty_list(client: Any) -> None:
    response = client.get(KEYS_URL)
    assert (response.status_code, response.json) == (200, {"keys": []})


# -- callbacks signed with the hoster's keys -------------------------------------------------


def test_callbacks_to_a_v1a_issuer_carry_one_token_per_hoster_key_newest_first(
    keyed: ComplianceService, keyed_client: Any, clock: FakeClock,
    hoster_keys_issuer: CallbackServer,
) -> None:
    assert post(keyed_client, clock, "eu-tco", order_data(),
                signing_keys=SIGNING_KEY).status_code == 201
    worker = DeliveryWorker(keyed.config, keyed.engine, clock=clock)
    assert worker.run_once() == 1
    (callback,) = hoster_keys_issuer.wait_for(1)
    assert callback.verified and callback.status == 200  # verified by the newest key alone
    tokens = callback.headers["webhook-signature"].split(" ")
    assert [t.partition(",")[0] for t in tokens] == ["v1a", "v1a"]
    # Each token verifies under its own key: an issuer still holding the old key verifies too.
    for public, token in zip((HOSTER_PUBLIC, OLD_HOSTER_PUBLIC), tokens, strict=True):
        headers = {**callback.headers, "webhook-signature": token}
        assert signing.is_valid([], headers, callback.body, now=clock.timestamp(),
                                public_keys=[public])
    assert callback.payload["type"] == "order.acknowledged"


def test_callbacks_to_a_v1_issuer_stay_hmac(
    keyed: ComplianceService, keyed_client: Any, clock: FakeClock,
) -> None:
    with CallbackServer(ISSUER_SECRET, clock=clock.timestamp) as hmac_issuer:
        config = keyed_config(keyed.config.database_url, hmac_issuer.url)
        assert post(keyed_client, clock, "nl-atkm", order_data(),
                    signing_keys=OTHER_SIGNING_KEY).status_code == 201
        DeliveryWorker(config, keyed.engine, clock=clock).run_once()
        (callback,) = hmac_issuer.wait_for(1)
    assert callback.verified
    assert callback.headers["webhook-signature"].startswith("v1,")
    assert " " not in callback.headers["webhook-signature"]
