"""load_config (PROTOCOL.md 7.1): valid files load with their defaults; every bad setting raises
ConfigError naming its dotted key, without ever echoing a secret."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from hoster_compliance.config import (
    Config,
    IssuerConfig,
    load_config,
)
from hoster_compliance.errors import ConfigError
from tests.helpers import ISSUER_SECRET as REF_SECRET  # the Standard Webhooks test vector

# The shared write-and-load table, by the short names these tests read best with.
from tests.helpers.config_files import CONFIG_TOKEN as TOKEN
from tests.helpers.config_files import config_error as _error
from tests.helpers.config_files import config_text as _text
from tests.helpers.config_files import issuer_settings as _issuer
from tests.helpers.config_files import load_text as _load
from tests.helpers.config_files import secret_for
from tests.helpers.config_files import top_settings as _top

NEW_SECRET = "whsec_c2VjcmV0LW51bWJlci10d28tZm9yLXJvdGF0aW9u"
BAD_SECRET = "whsec_TOPSECRET!notbase64%%"


# -- valid files ------------------------------------------------------------------------------


def test_full_config(tmp_path: Path) -> None:
    top = {
        "hoster_id": "example-hosting", "service_name": "Example Hosting",
        "provider_name": "Example Hosting B.V.",
        "database_url": "postgresql://hc@db.internal:5433/compliance",
        "operator_tokens": [TOKEN, "operator-token-2"], "max_body_bytes": 2048,
        "timestamp_tolerance_seconds": 60, "callback_timeout_seconds": 2.5,
    }
    issuers = [
        _issuer(name="ATKM", secrets=[REF_SECRET, NEW_SECRET], default_regime="NL_ATKM",
                api_base="https://issuer.example/api/"),
        _issuer(id="el.authority_1", member_state="EL", api_base="http://10.0.0.5:8080"),
    ]
    config = _load(tmp_path, _text(top, issuers))
    assert config.hoster_id == "example-hosting"
    assert config.service_name == "Example Hosting"
    assert config.provider_name == "Example Hosting B.V."
    assert config.database_url == "postgresql+psycopg://hc@db.internal:5433/compliance"
    assert config.operator_tokens == (TOKEN, "operator-token-2")
    assert (config.max_body_bytes, config.timestamp_tolerance_seconds) == (2048, 60)
    assert config.callback_timeout_seconds == 2.5
    first, second = config.issuers
    assert first == IssuerConfig(id="nl-atkm", member_state="NL", secrets=(REF_SECRET, NEW_SECRET),
                                 api_base="https://issuer.example/api", name="ATKM",
                                 default_regime="NL_ATKM")
    assert first.signing_secret == NEW_SECRET
    assert (second.id, second.member_state, second.api_base) == (
        "el.authority_1", "EL", "http://10.0.0.5:8080")
    assert second.name is None and second.default_regime is None
    assert config.issuer("nl-atkm") is first
    assert config.issuer("el.authority_1") is second
    assert config.issuer("NL-ATKM") is None


def test_minimal_config_takes_the_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_top(), [_issuer()]))
    assert config.service_name == "h1" and config.provider_name == "h1"
    assert config.max_body_bytes == 1048576
    assert config.timestamp_tolerance_seconds == 300
    assert config.callback_timeout_seconds == 15.0
    assert isinstance(config.callback_timeout_seconds, float)
    assert config.issuers[0].signing_secret == REF_SECRET


def test_provider_name_defaults_to_service_name(tmp_path: Path) -> None:
    config = _load(tmp_path, _text({**_top(), "service_name": "Svc"}, [_issuer()]))
    assert (config.service_name, config.provider_name) == ("Svc", "Svc")


def test_postgresql_psycopg_url_is_kept(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:pw@localhost/db"
    config = _load(tmp_path, _text({**_top(), "database_url": url}, [_issuer()]))
    assert config.database_url == url


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///relative.db", "{dir}/relative.db"),
        ("sqlite:///data/c.db", "{dir}/data/c.db"),
        ("sqlite:///../up.db", "{parent}/up.db"),
        ("sqlite:///c.db?timeout=5", "{dir}/c.db?timeout=5"),
    ],
)
def test_relative_sqlite_path_is_relative_to_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "hc.toml").write_text(_text({**_top(), "database_url": written}, [_issuer()]))
    monkeypatch.chdir(tmp_path)  # the working folder is not the config's folder
    config = load_config(Path("etc/hc.toml"), environ={})
    want = expected.format(dir=folder, parent=tmp_path)
    assert config.database_url == "sqlite:///" + want


@pytest.mark.parametrize("url", ["sqlite:////var/lib/hc/c.db", "sqlite:///:memory:"])
def test_absolute_and_memory_sqlite_urls_stay(tmp_path: Path, url: str) -> None:
    config = _load(tmp_path, _text({**_top(), "database_url": url}, [_issuer()]))
    assert config.database_url == url


def test_str_path_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "hc.toml"
    path.write_text(_text(_top(), [_issuer()]))
    assert load_config(str(path), environ={}).hoster_id == "h1"


# -- the environment forms --------------------------------------------------------------------


def test_operator_tokens_from_environment(tmp_path: Path) -> None:
    top = {**_top(), "operator_tokens_env": "HC_TOKENS"}
    del top["operator_tokens"]
    config = _load(tmp_path, _text(top, [_issuer()]),
                   {"HC_TOKENS": "  token-number-a1x ,, token-number-b2x , "})
    assert config.operator_tokens == ("token-number-a1x", "token-number-b2x")


def test_secrets_from_environment_last_one_signs(tmp_path: Path) -> None:
    issuer = _issuer(secrets_env="HC_ATKM")
    del issuer["secrets"]
    env = {"HC_ATKM": f"{REF_SECRET}, {NEW_SECRET}"}
    config = _load(tmp_path, _text(_top(), [issuer]), env)
    assert config.issuers[0].secrets == (REF_SECRET, NEW_SECRET)
    assert config.issuers[0].signing_secret == NEW_SECRET


@pytest.mark.parametrize("value", [None, "", " , ,"])
def test_unset_or_empty_token_variable(tmp_path: Path, value: str | None) -> None:
    top = {**_top(), "operator_tokens_env": "HC_TOKENS"}
    del top["operator_tokens"]
    env = {} if value is None else {"HC_TOKENS": value}
    err = _error(tmp_path, _text(top, [_issuer()]), env)
    assert err.key == "operator_tokens_env"
    assert "HC_TOKENS" in err.problem


def test_unset_secret_variable(tmp_path: Path) -> None:
    issuer = _issuer(secrets_env="HC_ATKM")
    del issuer["secrets"]
    err = _error(tmp_path, _text(_top(), [_issuer(id="other"), issuer]), {"OTHER": REF_SECRET})
    assert err.key == "issuers[1].secrets_env"
    assert "HC_ATKM" in err.problem


def test_bad_secret_from_environment_is_not_echoed(tmp_path: Path) -> None:
    issuer = _issuer(secrets_env="HC_ATKM")
    del issuer["secrets"]
    err = _error(tmp_path, _text(_top(), [issuer]), {"HC_ATKM": f"{REF_SECRET},{BAD_SECRET}"})
    assert err.key == "issuers[0].secrets_env"
    assert "item 2" in err.problem
    assert "TOPSECRET" not in str(err) and REF_SECRET not in str(err)


def test_bad_token_from_environment_is_not_echoed(tmp_path: Path) -> None:
    top = {**_top(), "operator_tokens_env": "HC_TOKENS"}
    del top["operator_tokens"]
    err = _error(tmp_path, _text(top, [_issuer()]), {"HC_TOKENS": "fine,TOP SECRET"})
    assert err.key == "operator_tokens_env"
    assert "TOP SECRET" not in str(err)


def test_both_forms_are_an_error(tmp_path: Path) -> None:
    err = _error(tmp_path, _text({**_top(), "operator_tokens_env": "T"}, [_issuer()]), {"T": "x"})
    assert err.key == "operator_tokens_env"
    err = _error(tmp_path, _text(_top(), [_issuer(secrets_env="S")]), {"S": REF_SECRET})
    assert err.key == "issuers[0].secrets_env"


@pytest.mark.parametrize("name", ["", "1ABC", "HC-TOKENS", 7])
def test_env_key_must_name_a_variable(tmp_path: Path, name: Any) -> None:
    top = {**_top(), "operator_tokens_env": name}
    del top["operator_tokens"]
    err = _error(tmp_path, _text(top, [_issuer()]), {"1ABC": "x", "HC-TOKENS": "x"})
    assert err.key == "operator_tokens_env"


# -- errors: file and syntax ------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key == str(path)


def test_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={})
    assert info.value.key == str(tmp_path)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = _error(tmp_path, 'hoster_id = "h1"\n\ndatabase_url = sqlite\n')
    assert err.key == "config"
    assert "line 3" in err.problem


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "hc.toml"
    path.write_bytes(b'hoster_id = "h\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key == "config"


# -- errors: top-level keys -------------------------------------------------------------------

_TOP_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"hoster_id": None}, "hoster_id"),
    ({"hoster_id": 5}, "hoster_id"),
    ({"hoster_id": ""}, "hoster_id"),
    ({"hoster_id": "a\u0000b"}, "hoster_id"),
    ({"service_name": ""}, "service_name"),
    ({"provider_name": ["x"]}, "provider_name"),
    ({"database_url": None}, "database_url"),
    ({"database_url": "mysql://h/db"}, "database_url"),
    ({"database_url": "postgres://h/db"}, "database_url"),
    ({"database_url": "postgresql+psycopg2://h/db"}, "database_url"),
    ({"database_url": "sqlite://"}, "database_url"),
    ({"database_url": "sqlite:///"}, "database_url"),
    ({"database_url": 1}, "database_url"),
    ({"operator_tokens": None}, "operator_tokens"),
    ({"operator_tokens": []}, "operator_tokens"),
    ({"operator_tokens": TOKEN}, "operator_tokens"),
    ({"operator_tokens": [TOKEN, 3]}, "operator_tokens[1]"),
    ({"operator_tokens": [""]}, "operator_tokens[0]"),
    ({"operator_tokens": ["TOP SECRET"]}, "operator_tokens[0]"),
    ({"max_body_bytes": True}, "max_body_bytes"),
    ({"max_body_bytes": 0}, "max_body_bytes"),
    ({"max_body_bytes": -1}, "max_body_bytes"),
    ({"max_body_bytes": 1.5}, "max_body_bytes"),
    ({"timestamp_tolerance_seconds": "300"}, "timestamp_tolerance_seconds"),
    ({"timestamp_tolerance_seconds": 0}, "timestamp_tolerance_seconds"),
    ({"timestamp_tolerance_seconds": False}, "timestamp_tolerance_seconds"),
    ({"callback_timeout_seconds": True}, "callback_timeout_seconds"),
    ({"callback_timeout_seconds": 0}, "callback_timeout_seconds"),
    ({"callback_timeout_seconds": -1.0}, "callback_timeout_seconds"),
    ({"callback_timeout_seconds": float("inf")}, "callback_timeout_seconds"),
    ({"callback_timeout_seconds": float("nan")}, "callback_timeout_seconds"),
    ({"callback_timeout_seconds": "15"}, "callback_timeout_seconds"),
    ({"databse_url": "sqlite:///x.db"}, "databse_url"),
    ({"issuer": "x"}, "issuer"),
]


@pytest.mark.parametrize(("changes", "key"), _TOP_ERRORS)
def test_top_level_errors_name_the_key(tmp_path: Path, changes: dict[str, Any], key: str) -> None:
    top = _top()
    for name, value in changes.items():
        if value is None:
            del top[name]
        else:
            top[name] = value
    err = _error(tmp_path, _text(top, [_issuer()]))
    assert err.key == key
    assert str(err) == f"{key}: {err.problem}"
    assert TOKEN not in str(err) and "TOP SECRET" not in str(err)


def test_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    err = _error(tmp_path, _text({**_top(), "databse_url": "x"}, [_issuer()]))
    assert "database_url" in err.problem


def test_postgres_url_password_is_not_echoed(tmp_path: Path) -> None:
    url = "postgresql://u:hunter2@db:notaport/x"
    err = _error(tmp_path, _text({**_top(), "database_url": url}, [_issuer()]))
    assert err.key == "database_url"
    assert "hunter2" not in str(err)


_HEAD = 'hoster_id = "h"\ndatabase_url = "sqlite:///c.db"\noperator_tokens = ["operator-token-1"]\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (_HEAD, "issuers"),
        (_HEAD + "issuers = []\n", "issuers"),
        (_HEAD + '[issuers]\nid = "x"\n', "issuers"),
        (_HEAD + 'issuers = ["x"]\n', "issuers[0]"),
    ],
)
def test_issuers_must_be_a_non_empty_array_of_tables(tmp_path: Path, text: str, key: str) -> None:
    assert _error(tmp_path, text).key == key


# -- errors: issuer tables ----------------------------------------------------------------------

_ISSUER_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"id": None}, "id"),
    ({"id": ""}, "id"),
    ({"id": "bad id"}, "id"),
    ({"id": "a/b"}, "id"),
    ({"id": "a" * 129}, "id"),
    ({"id": "abc\n"}, "id"),
    ({"id": ".."}, "id"),
    ({"id": 3}, "id"),
    ({"name": ""}, "name"),
    ({"name": 1}, "name"),
    ({"member_state": None}, "member_state"),
    ({"member_state": "GR"}, "member_state"),
    ({"member_state": "nl"}, "member_state"),
    ({"member_state": "UK"}, "member_state"),
    ({"member_state": "EU"}, "member_state"),
    ({"secrets": None}, "secrets"),
    ({"secrets": []}, "secrets"),
    ({"secrets": REF_SECRET}, "secrets"),
    ({"secrets": [REF_SECRET, BAD_SECRET]}, "secrets[1]"),
    ({"secrets": ["whsec_"]}, "secrets[0]"),
    ({"secrets": [7]}, "secrets[0]"),
    ({"api_base": None}, "api_base"),
    ({"api_base": "ftp://issuer.example"}, "api_base"),
    ({"api_base": "issuer.example/api"}, "api_base"),
    ({"api_base": "/api"}, "api_base"),
    ({"api_base": "https://"}, "api_base"),
    ({"api_base": "https://issuer.example/api?x=1"}, "api_base"),
    ({"api_base": "https://issuer.example/api#f"}, "api_base"),
    ({"api_base": "https://user:pw@issuer.example"}, "api_base"),
    ({"api_base": "https://issuer.example:99999"}, "api_base"),
    ({"api_base": "https://issuer .example"}, "api_base"),
    ({"default_regime": "EU_TCOO"}, "default_regime"),
    ({"default_regime": "nl_atkm"}, "default_regime"),
    ({"default_regime": 5}, "default_regime"),
    ({"secret": [REF_SECRET]}, "secret"),
]


@pytest.mark.parametrize(("changes", "key"), _ISSUER_ERRORS)
def test_issuer_errors_name_the_key(tmp_path: Path, changes: dict[str, Any], key: str) -> None:
    bad = _issuer(id="second")
    for name, value in changes.items():
        if value is None:
            del bad[name]
        else:
            bad[name] = value
    err = _error(tmp_path, _text(_top(), [_issuer(), bad]))
    assert err.key == f"issuers[1].{key}"
    message = str(err)
    assert "TOPSECRET" not in message and REF_SECRET not in message
    assert REF_SECRET.removeprefix("whsec_") not in message


def test_greece_hint(tmp_path: Path) -> None:
    err = _error(tmp_path, _text(_top(), [_issuer(member_state="GR")]))
    assert "EL" in err.problem


def test_duplicate_issuer_ids(tmp_path: Path) -> None:
    err = _error(tmp_path, _text(_top(), [_issuer(), _issuer(id="x"), _issuer()]))
    assert err.key == "issuers[2].id"
    assert "issuers[0]" in err.problem


def test_all_eu_member_states_accepted_and_only_them(tmp_path: Path) -> None:
    codes = "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
    issuers = [_issuer(id=code, member_state=code) for code in codes.split()]
    config = _load(tmp_path, _text(_top(), issuers))
    assert [i.member_state for i in config.issuers] == codes.split()


# -- direct construction ----------------------------------------------------------------------


def test_direct_construction_with_keywords() -> None:
    secrets: Any = [REF_SECRET, NEW_SECRET]  # a list, as an embedder might pass
    issuer = IssuerConfig(id="a", member_state="NL", secrets=secrets, api_base="https://x.example/")
    tokens: Any = ["t"]
    config = Config(hoster_id="h", database_url="sqlite:///:memory:", operator_tokens=tokens,
                    issuers=(issuer,))
    assert config.operator_tokens == ("t",) and config.issuers == (issuer,)
    assert issuer.secrets == (REF_SECRET, NEW_SECRET) and issuer.signing_secret == NEW_SECRET
    assert issuer.api_base == "https://x.example"
    assert config.provider_name == "h" and config.callback_timeout_seconds == 15
    assert config.issuer("a") is issuer and config.issuer("b") is None
    assert hash(config) == hash(Config(hoster_id="h", database_url="sqlite:///:memory:",
                                       operator_tokens=("t",), issuers=(issuer,)))


def test_repr_hides_secrets_tokens_and_database_url() -> None:
    issuer = IssuerConfig(id="a", member_state="NL", secrets=(REF_SECRET,), api_base="https://x")
    config = Config(hoster_id="h", database_url="postgresql+psycopg://u:hunter2@db/x",
                    operator_tokens=(TOKEN,), issuers=(issuer,))
    text = repr(config)
    assert "id='a'" in text
    for secret in (REF_SECRET, TOKEN, "hunter2"):
        assert secret not in text


def test_direct_construction_rejects_duplicate_ids_and_no_secrets() -> None:
    issuer = IssuerConfig(id="a", member_state="NL", secrets=(REF_SECRET,), api_base="https://x")
    with pytest.raises(ConfigError) as info:
        Config(hoster_id="h", database_url="sqlite:///:memory:", operator_tokens=("t",),
               issuers=(issuer, issuer))
    assert info.value.key == "issuers[1].id"
    with pytest.raises(ConfigError) as info:
        IssuerConfig(id="a", member_state="NL", secrets=(), api_base="https://x")
    assert info.value.key == "secrets"


# -- secrets: the configuration accepts exactly what signing accepts --------------------------


@pytest.mark.parametrize("secret", [
    REF_SECRET, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"[:-2], "MfKQ9r8GKYqrTwjUPD8ILPZIo2La",
    "whsec_AQ", "whsec_AQ==", "whsec_", "", "A", "whsec_AQ==AQ==", BAD_SECRET, "whsec_ü", " AQ==",
])
def test_secret_check_agrees_with_signing(tmp_path: Path, secret: str) -> None:
    from hoster_compliance.protocol import signing

    try:
        signing.sign(secret, "msg_1", 0, b"{}")
        signs = True
    except ValueError:
        signs = False
    text = _text(_top(), [_issuer(secrets=[secret])])
    if signs and len(signing.decode_secret(secret)) >= 16:  # and long enough (13.3)
        assert _load(tmp_path, text).issuers[0].secrets == (secret,)
    else:
        err = _error(tmp_path, text)
        assert err.key == "issuers[0].secrets[0]"


def test_unpadded_secret_is_accepted_as_the_reference_libraries_do(tmp_path: Path) -> None:
    unpadded = REF_SECRET[:-2]  # base64 of 22 bytes without its "=="
    config = _load(tmp_path, _text(_top(), [_issuer(secrets=[unpadded])]))
    assert config.issuers[0].signing_secret == unpadded


# -- the dashboard (PROTOCOL 12): dashboard_url, dashboard_secret_env ----------------------

DASHBOARD_SECRET = "s3cr3t-" + "k" * 40


def test_the_dashboard_keys_are_optional(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_top(), [_issuer()]))
    assert config.dashboard_url is None and config.dashboard_secret is None


def test_the_url_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    top = {**_top(), "dashboard_url": "https://compliance.example.nl/",
           "dashboard_secret_env": "HC_DASHBOARD_SECRET"}
    environ = {"HC_DASHBOARD_SECRET": f" {DASHBOARD_SECRET} "}
    config = _load(tmp_path, _text(top, [_issuer()]), environ)
    assert config.dashboard_url == "https://compliance.example.nl"
    assert config.dashboard_secret == DASHBOARD_SECRET
    assert DASHBOARD_SECRET not in repr(config)


@pytest.mark.parametrize(("key", "value", "environ", "problem"), [
    ("dashboard_url", "compliance.example.nl", {}, "absolute http:// or https://"),
    ("dashboard_url", "https://u:p@c.example.nl", {}, "credentials"),
    ("dashboard_url", "https://c.example.nl/?x=1", {}, "query"),
    ("dashboard_secret_env", "HC SECRET", {}, "name of an environment variable"),
    ("dashboard_secret_env", "HC_DASHBOARD_SECRET", {}, "unset or empty"),
    ("dashboard_secret_env", "HC_DASHBOARD_SECRET", {"HC_DASHBOARD_SECRET": "short-secret"},
     "at least 32 characters"),
])
def test_bad_dashboard_values_name_the_key(
    tmp_path: Path, key: str, value: str, environ: dict[str, str], problem: str
) -> None:
    error = _error(tmp_path, _text({**_top(), key: value}, [_issuer()]), environ)
    assert isinstance(error, ConfigError)
    assert error.key == key and problem in error.problem
    assert "short-secret" not in str(error)


def test_a_misspelt_dashboard_key_is_refused_with_a_hint(tmp_path: Path) -> None:
    error = _error(tmp_path, _text({**_top(), "dashboard_secret": DASHBOARD_SECRET}, [_issuer()]))
    assert error.key == "dashboard_secret" and "dashboard_secret_env" in error.problem


# -- configuration that cannot be safe (PROTOCOL 13.3) ----------------------------------------


def _b64(raw: bytes) -> str:
    return "whsec_" + base64.b64encode(raw).decode()


@pytest.mark.parametrize("secret", [_b64(b"x"), _b64(b"fifteen-bytes!!"), "whsec_AQ==", "AAAA"])
def test_a_secret_under_16_bytes_is_refused(tmp_path: Path, secret: str) -> None:
    err = _error(tmp_path, _text(_top(), [_issuer(secrets=[REF_SECRET, secret])]))
    assert err.key == "issuers[0].secrets[1]"
    assert "too short" in err.problem and "at least 16" in err.problem
    assert secret.removeprefix("whsec_") not in str(err)


def test_a_secret_of_16_bytes_is_enough(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_top(), [_issuer(secrets=[_b64(b"sixteen-bytes!!!")])]))
    assert config.issuers[0].secrets == (_b64(b"sixteen-bytes!!!"),)


def test_a_short_secret_from_the_environment_is_refused(tmp_path: Path) -> None:
    issuer = _issuer(secrets_env="HC_SECRETS")
    del issuer["secrets"]
    err = _error(tmp_path, _text(_top(), [issuer]), {"HC_SECRETS": f"{REF_SECRET},{_b64(b'a')}"})
    assert err.key == "issuers[0].secrets_env"
    assert "item 2 of environment variable HC_SECRETS is too short" in err.problem


@pytest.mark.parametrize("token", ["t", "x" * 15])
def test_an_operator_token_under_16_characters_is_refused(tmp_path: Path, token: str) -> None:
    err = _error(tmp_path, _text({**_top(), "operator_tokens": [TOKEN, token]}, [_issuer()]))
    assert err.key == "operator_tokens[1]"
    assert f"{len(token)} characters, at least 16" in err.problem
    top = {**_top(), "operator_tokens_env": "HC_TOKENS"}
    del top["operator_tokens"]
    err = _error(tmp_path, _text(top, [_issuer()]), {"HC_TOKENS": token})
    assert err.key == "operator_tokens_env"


def test_one_secret_for_two_issuers_is_refused(tmp_path: Path) -> None:
    shared = secret_for("shared")
    issuers = [_issuer(), _issuer(id="a", secrets=[shared]),
               _issuer(id="b", secrets=[secret_for("b"), shared.removeprefix("whsec_")])]
    err = _error(tmp_path, _text(_top(), issuers))
    assert err.key == "issuers[2].secrets[1]"  # the same key, with or without whsec_
    assert "issuers[1] (a)" in err.problem and "its own" in err.problem
    assert shared.removeprefix("whsec_") not in str(err)


def test_one_secret_for_two_issuers_from_the_environment_is_refused(tmp_path: Path) -> None:
    second = _issuer(id="b", secrets_env="HC_B")
    del second["secrets"]
    err = _error(tmp_path, _text(_top(), [_issuer(), second]), {"HC_B": REF_SECRET})
    assert err.key == "issuers[1].secrets_env"


def test_one_issuer_may_list_a_secret_twice(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_top(), [_issuer(secrets=[REF_SECRET, REF_SECRET])]))
    assert config.issuers[0].secrets == (REF_SECRET, REF_SECRET)


def test_direct_construction_refuses_one_secret_for_two_issuers() -> None:
    first = IssuerConfig(id="a", member_state="NL", secrets=(REF_SECRET,), api_base="https://x")
    second = IssuerConfig(id="b", member_state="NL", secrets=(NEW_SECRET, REF_SECRET),
                          api_base="https://x")
    with pytest.raises(ConfigError) as info:
        Config(hoster_id="h", database_url="sqlite:///:memory:", operator_tokens=(TOKEN,),
               issuers=(first, second))
    assert info.value.key == "issuers[1].secrets[1]"


def test_the_demo_configuration_meets_the_rules() -> None:
    demo = Path(__file__).resolve().parents[2] / "examples" / "demo.toml"
    config = load_config(demo, environ={})
    assert all(len(token) >= 16 for token in config.operator_tokens)
