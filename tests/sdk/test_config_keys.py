"""Ed25519 settings (PROTOCOL 1, 7.1): an issuer's ``public_keys`` / ``public_keys_env`` beside or
instead of its secrets, ``callback_signature``, the hoster's ``signing_key_env``; every bad key is
one error naming the setting, never the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hoster_compliance.config import Config, IssuerConfig
from hoster_compliance.errors import ConfigError
from hoster_compliance.protocol import keys as ed25519
from hoster_compliance.protocol import signing
from tests.helpers import ISSUER_SECRET, OLD_SECRET

# The shared write-and-load table, by the short names these tests read best with.
from tests.helpers.config_files import config_error as _error
from tests.helpers.config_files import config_text as _text
from tests.helpers.config_files import issuer_settings as _issuer
from tests.helpers.config_files import load_text as _load
from tests.helpers.config_files import top_settings as _top
from tests.helpers.keys import OTHER_PUBLIC_KEY, OTHER_SIGNING_KEY, PUBLIC_KEY, SIGNING_KEY

HOSTER_KEY, HOSTER_PUBLIC = ed25519.generate_key_pair()
NEW_HOSTER_KEY, NEW_HOSTER_PUBLIC = ed25519.generate_key_pair()
ENV = {"HC_SIGNING_KEY": HOSTER_KEY}


def _keyed_issuer(**changes: Any) -> dict[str, Any]:
    issuer = _issuer(public_keys=[PUBLIC_KEY])
    del issuer["secrets"]
    issuer.update(changes)
    return issuer


def _with_key(**changes: Any) -> dict[str, Any]:
    return {**_top(), "signing_key_env": "HC_SIGNING_KEY", **changes}


# -- valid settings --------------------------------------------------------------------------


def test_an_issuer_with_only_a_public_key_gets_v1a_callbacks(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_with_key(), [_keyed_issuer()]), ENV)
    issuer = config.issuers[0]
    assert issuer.secrets == () and issuer.signing_secret is None
    assert issuer.public_keys == (PUBLIC_KEY,)
    assert [ed25519.public_key_text(k) for k in issuer.verify_keys] == [PUBLIC_KEY]
    assert issuer.callback_signature == "v1a"
    signer = config.callback_signer(issuer)
    assert signer.secrets == () and [ed25519.public_key_text(k) for k in signer.keys] == [
        HOSTER_PUBLIC]


def test_an_issuer_with_secrets_keeps_v1_callbacks_with_its_newest_secret(tmp_path: Path) -> None:
    issuer_table = _issuer(secrets=[OLD_SECRET, ISSUER_SECRET], public_keys=[PUBLIC_KEY])
    config = _load(tmp_path, _text(_top(), [issuer_table]))
    issuer = config.issuers[0]
    assert issuer.callback_signature == "v1"
    assert config.callback_signer(issuer) == signing.Signer(secrets=(ISSUER_SECRET,))
    assert config.published_keys() == {"keys": []}


def test_callback_signature_v1a_beside_secrets(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_with_key(), [_issuer(callback_signature="v1a")]), ENV)
    assert config.callback_signer(config.issuers[0]).keys == config.hoster_signing_keys


def test_public_keys_from_the_environment(tmp_path: Path) -> None:
    table = _keyed_issuer(public_keys_env="HC_ATKM_KEYS")
    del table["public_keys"]
    env = {**ENV, "HC_ATKM_KEYS": f" {PUBLIC_KEY} , {OTHER_PUBLIC_KEY} "}
    issuer = _load(tmp_path, _text(_with_key(), [table]), env).issuers[0]
    assert issuer.public_keys == (PUBLIC_KEY, OTHER_PUBLIC_KEY)


def test_several_hoster_keys_are_all_published_oldest_first(tmp_path: Path) -> None:
    env = {"HC_SIGNING_KEY": f"{HOSTER_KEY},{NEW_HOSTER_KEY}"}
    config = _load(tmp_path, _text(_with_key(), [_keyed_issuer()]), env)
    published = config.published_keys()["keys"]
    assert [k["public_key"] for k in published] == [HOSTER_PUBLIC, NEW_HOSTER_PUBLIC]
    assert all(k["alg"] == "ed25519" and len(k["kid"]) == 16 for k in published)
    assert HOSTER_KEY[5:] not in repr(config) and NEW_HOSTER_KEY[5:] not in str(published)


# -- bad settings: one line naming the key ---------------------------------------------------


@pytest.mark.parametrize(("keys", "where", "problem"), [
    (["whpk_bad!"], "[0]", "is not base64 after whpk_"),
    ([PUBLIC_KEY, "whpk_AAAA"], "[1]", "must hold 32 bytes after whpk_, not 3"),
    ([SIGNING_KEY], "[0]", "is a private signing key"),
    ([ISSUER_SECRET], "[0]", "must start with whpk_"),
])
def test_a_bad_public_key_is_named(tmp_path: Path, keys: list[str], where: str,
                                   problem: str) -> None:
    err = _error(tmp_path, _text(_with_key(), [_keyed_issuer(public_keys=keys)]), ENV)
    assert err.key == f"issuers[0].public_keys{where}"
    assert problem in err.problem
    assert SIGNING_KEY[5:] not in str(err) and ISSUER_SECRET[6:] not in str(err)


def test_a_bad_public_key_in_the_environment_is_named_by_item(tmp_path: Path) -> None:
    table = _keyed_issuer(public_keys_env="HC_ATKM_KEYS")
    del table["public_keys"]
    env = {**ENV, "HC_ATKM_KEYS": f"{PUBLIC_KEY},{OTHER_SIGNING_KEY}"}
    err = _error(tmp_path, _text(_with_key(), [table]), env)
    assert err.key == "issuers[0].public_keys_env"
    assert err.problem.startswith("item 2 of environment variable HC_ATKM_KEYS is a private")
    assert OTHER_SIGNING_KEY[5:] not in str(err)


def test_public_keys_and_public_keys_env_together_are_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, _text(_with_key(), [_keyed_issuer(public_keys_env="X")]), ENV)
    assert err.key == "issuers[0].public_keys_env" and "not both" in err.problem


def test_an_issuer_needs_a_secret_or_a_public_key(tmp_path: Path) -> None:
    table = _issuer()
    del table["secrets"]
    err = _error(tmp_path, _text(_top(), [table]))
    assert err.key == "issuers[0].secrets"
    assert "public_keys" in err.problem
    err = _error(tmp_path, _text(_top(), [_keyed_issuer(public_keys=[])]))
    assert (err.key, err.problem) == ("issuers[0].public_keys", "must not be empty")


def test_v1a_callbacks_need_the_hosters_signing_key(tmp_path: Path) -> None:
    err = _error(tmp_path, _text(_top(), [_issuer(), _keyed_issuer(id="eu-tco")]))
    assert err.key == "issuers[1].callback_signature"
    assert "signing_key_env" in err.problem


@pytest.mark.parametrize(("value", "problem"), [
    ("v2", "must be v1 or v1a"), ("V1A", "must be v1 or v1a"), ("v1", "has none"),
])
def test_a_bad_callback_signature_is_named(tmp_path: Path, value: str, problem: str) -> None:
    err = _error(tmp_path, _text(_with_key(), [_keyed_issuer(callback_signature=value)]), ENV)
    assert err.key == "issuers[0].callback_signature" and problem in err.problem


@pytest.mark.parametrize(("env", "problem"), [
    ({}, "environment variable HC_SIGNING_KEY is unset or empty"),
    ({"HC_SIGNING_KEY": " , "}, "environment variable HC_SIGNING_KEY is unset or empty"),
    ({"HC_SIGNING_KEY": f"{HOSTER_KEY},{HOSTER_PUBLIC}"},
     "item 2 of environment variable HC_SIGNING_KEY is a public key"),
    ({"HC_SIGNING_KEY": "whsk_c2hvcnQ="},
     "item 1 of environment variable HC_SIGNING_KEY must hold 32 or 64 bytes"),
])
def test_a_bad_signing_key_is_named_without_the_key(tmp_path: Path, env: dict[str, str],
                                                    problem: str) -> None:
    err = _error(tmp_path, _text(_with_key(), [_keyed_issuer()]), env)
    assert err.key == "signing_key_env" and err.problem.startswith(problem)
    assert HOSTER_KEY[5:] not in str(err)


def test_a_signing_key_in_the_file_is_an_unknown_key(tmp_path: Path) -> None:
    err = _error(tmp_path, _text({**_top(), "signing_key": HOSTER_KEY}, [_issuer()]))
    assert err.key == "signing_key" and "signing_key_env" in err.problem
    assert HOSTER_KEY[5:] not in str(err)


def test_two_issuers_with_the_same_public_key_are_refused(tmp_path: Path) -> None:
    issuers = [_keyed_issuer(), _keyed_issuer(id="other", public_keys=[OTHER_PUBLIC_KEY,
                                                                       PUBLIC_KEY])]
    err = _error(tmp_path, _text(_with_key(), issuers), ENV)
    assert err.key == "issuers[1].public_keys"
    assert ed25519.kid(ed25519.parse_public_key(PUBLIC_KEY)) in err.problem


def test_the_dataclasses_check_the_same_rules_when_built_directly() -> None:
    with pytest.raises(ConfigError) as info:
        IssuerConfig(id="a", member_state="NL", api_base="https://x")
    assert info.value.key == "secrets"
    with pytest.raises(ConfigError) as info:
        IssuerConfig(id="a", member_state="NL", api_base="https://x", public_keys=("whpk_x",))
    assert info.value.key == "public_keys[0]"
    issuer = IssuerConfig(id="a", member_state="NL", api_base="https://x",
                          public_keys=(PUBLIC_KEY,))
    with pytest.raises(ConfigError) as info:
        Config(hoster_id="h", database_url="sqlite://", operator_tokens=("t",),
               issuers=(issuer,))
    assert info.value.key == "issuers[0].callback_signature"
    with pytest.raises(ConfigError) as info:
        Config(hoster_id="h", database_url="sqlite://", operator_tokens=("t",),
               issuers=(issuer,), signing_keys=("whsk_x",))
    assert info.value.key == "signing_keys[0]"
    config = Config(hoster_id="h", database_url="sqlite://", operator_tokens=("t",),
                    issuers=(issuer,), signing_keys=(HOSTER_KEY,))
    assert config.published_keys()["keys"][0]["public_key"] == HOSTER_PUBLIC
