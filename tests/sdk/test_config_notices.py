"""The ``[notices]`` table (PROTOCOL 10.1) and the reserved issuer ids ``public`` and ``self``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoster_compliance.config import Config, IssuerConfig, load_config
from hoster_compliance.config_notices import DEFAULT_REDRESS, NoticesConfig
from hoster_compliance.errors import ConfigError

ISSUER = """
[[issuers]]
id = "{id}"
member_state = "NL"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
api_base = "https://issuer.example/api"
"""
BASE = 'hoster_id = "h1"\ndatabase_url = "sqlite:///c.db"\noperator_tokens = ["operator-token-1"]\n'


def _load(tmp_path: Path, notices: str | None, issuer: str = "nl-atkm") -> Config:
    path = tmp_path / "hc.toml"
    table = "" if notices is None else "[notices]\n" + notices + "\n"
    path.write_text(BASE + table + ISSUER.format(id=issuer), encoding="utf-8")
    return load_config(path, environ={})


def test_defaults_without_the_table(tmp_path: Path) -> None:
    assert _load(tmp_path, None).notices == NoticesConfig()
    assert NoticesConfig() == NoticesConfig(True, 24, DEFAULT_REDRESS, 10, 0, 365)


def test_every_key(tmp_path: Path) -> None:
    config = _load(tmp_path, 'enabled = false\ndeadline_hours = 0\nredress = "Write to us."\n'
                             'max_per_hour_per_client = 0\ntrusted_proxy_hops = 2\n'
                             'notifier_retention_days = 30')
    assert config.notices == NoticesConfig(False, 0, "Write to us.", 0, 2, 30)


@pytest.mark.parametrize(("text", "key"), [
    ("enable = true", "notices.enable"),
    ('enabled = "yes"', "notices.enabled"),
    ("deadline_hours = -1", "notices.deadline_hours"),
    ("max_per_hour_per_client = 1.5", "notices.max_per_hour_per_client"),
    ("trusted_proxy_hops = 11", "notices.trusted_proxy_hops"),
    ("notifier_retention_days = 0", "notices.notifier_retention_days"),
    ('redress = ""', "notices.redress"),
])
def test_mistakes_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.key == key


@pytest.mark.parametrize("reserved", ["public", "self"])
def test_public_and_self_are_reserved_issuer_ids(tmp_path: Path, reserved: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, None, issuer=reserved)
    assert info.value.key == "issuers[0].id" and "reserved" in info.value.problem
    with pytest.raises(ConfigError, match="reserved"):
        Config(hoster_id="h", database_url="sqlite://", operator_tokens=("t" * 16,),
               issuers=(IssuerConfig(id=reserved, member_state="NL", secrets=("s",),
                                     api_base="https://x.example"),))
