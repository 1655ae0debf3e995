"""The [hashcheck] table: lists relative to the configuration, the service and its password,
the category of own-initiative entries; every problem names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoster_compliance.config import load_config
from hoster_compliance.errors import ConfigError
from tests.helpers import write_config_file


def config_with(tmp_path: Path, table: str, env: dict[str, str] | None = None) -> object:
    path = Path(write_config_file(tmp_path, "sqlite:///hc.db"))
    path.write_text(path.read_text() + "\n[hashcheck]\n" + table)
    return load_config(path, environ=env or {})


def test_lists_service_and_defaults(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'lists = ["known.txt", "/etc/hc/b.txt"]\n'
                         'service_url = "https://hashcheck.example/api/"\n'
                         'username = "u"\npassword_env = "HC_PW"\n', {"HC_PW": "pw-secret"})
    settings = config.hashcheck  # type: ignore[attr-defined]
    assert settings.lists == (str(tmp_path / "known.txt"), "/etc/hc/b.txt")
    assert settings.service_url == "https://hashcheck.example/api"
    assert settings.password == "pw-secret" and "pw-secret" not in repr(settings)
    assert settings.category == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert settings.subcategory == "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"


def test_another_category_has_no_default_subcategory(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'lists = ["k.txt"]\n'
                         'category = "STATEMENT_CATEGORY_VIOLENCE"\n')
    assert config.hashcheck.subcategory is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("table", "key"), [
    ("", "hashcheck"),
    ('lists = "k.txt"\n', "hashcheck.lists"),
    ('lists = ["k.txt"]\nlist = ["x"]\n', "hashcheck.list"),
    ('service_url = "http://hashcheck.example/api"\nusername = "u"\npassword = "p"\n',
     "hashcheck.service_url"),
    ('service_url = "https://u:p@hashcheck.example/api"\n', "hashcheck.service_url"),
    ('service_url = "https://hashcheck.example/api"\nusername = "u"\n', "hashcheck.username"),
    ('service_url = "https://h.example"\nusername = "u"\npassword = "p"\npassword_env = "X"\n',
     "hashcheck.password_env"),
    ('service_url = "https://h.example"\nusername = "u"\npassword_env = "UNSET_VAR"\n',
     "hashcheck.password_env"),
    ('lists = ["k"]\ncategory = "STATEMENT_CATEGORY_NOPE"\n', "hashcheck.category"),
    ('lists = ["k"]\nsubcategory = "KEYWORD_HATE_SPEECH"\n', "hashcheck.subcategory"),
    ('lists = ["k"]\ntimeout_seconds = 0\n', "hashcheck.timeout_seconds"),
])
def test_bad_tables_name_the_key(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(tmp_path, table)
    assert info.value.key == key


@pytest.mark.parametrize("issuer_id", ["self", "public"])
def test_reserved_issuer_ids(tmp_path: Path, issuer_id: str) -> None:
    path = Path(write_config_file(tmp_path, "sqlite:///hc.db"))
    path.write_text(path.read_text().replace('id = "offlimits"', f'id = "{issuer_id}"'))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key == "issuers[1].id" and "reserved" in info.value.problem
