"""The dashboard's configuration keys (PROTOCOL 12): ``dashboard_url`` and
``dashboard_secret_env``; bad values name the key and never echo the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoster_compliance.errors import ConfigError
from tests.sdk.test_config import _error, _issuer, _load, _text, _top

SECRET = "s3cr3t-" + "k" * 40


def test_both_keys_are_optional(tmp_path: Path) -> None:
    config = _load(tmp_path, _text(_top(), [_issuer()]))
    assert config.dashboard_url is None and config.dashboard_secret is None


def test_the_url_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    top = {**_top(), "dashboard_url": "https://compliance.example.nl/",
           "dashboard_secret_env": "HC_DASHBOARD_SECRET"}
    config = _load(tmp_path, _text(top, [_issuer()]), {"HC_DASHBOARD_SECRET": f" {SECRET} "})
    assert config.dashboard_url == "https://compliance.example.nl"
    assert config.dashboard_secret == SECRET
    assert SECRET not in repr(config)


@pytest.mark.parametrize(("key", "value", "environ", "problem"), [
    ("dashboard_url", "compliance.example.nl", {}, "absolute http:// or https://"),
    ("dashboard_url", "https://u:p@c.example.nl", {}, "credentials"),
    ("dashboard_url", "https://c.example.nl/?x=1", {}, "query"),
    ("dashboard_secret_env", "HC SECRET", {}, "name of an environment variable"),
    ("dashboard_secret_env", "HC_DASHBOARD_SECRET", {}, "unset or empty"),
    ("dashboard_secret_env", "HC_DASHBOARD_SECRET", {"HC_DASHBOARD_SECRET": "short-secret"},
     "at least 32 characters"),
])
def test_bad_values_name_the_key(
    tmp_path: Path, key: str, value: str, environ: dict[str, str], problem: str
) -> None:
    error = _error(tmp_path, _text({**_top(), key: value}, [_issuer()]), environ)
    assert isinstance(error, ConfigError)
    assert error.key == key and problem in error.problem
    assert "short-secret" not in str(error)


def test_a_misspelt_key_is_refused_with_a_hint(tmp_path: Path) -> None:
    error = _error(tmp_path, _text({**_top(), "dashboard_secret": SECRET}, [_issuer()]))
    assert error.key == "dashboard_secret" and "dashboard_secret_env" in error.problem
