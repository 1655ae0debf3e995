"""The ``[mail]`` table (PROTOCOL 9.1): parsed into ``Config.mail``; every mistake one ConfigError
naming its key; the password in neither a message nor a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoster_compliance.config import Config, load_config
from hoster_compliance.config_mail import MailConfig
from hoster_compliance.errors import ConfigError

BASE = """\
hoster_id = "h1"
database_url = "sqlite:///c.db"
operator_tokens = ["operator-token-1"]

[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
api_base = "https://issuer.example/api"
"""
PASSWORD = "smtp-Pa55-word"


def _load(tmp_path: Path, mail: str, environ: dict[str, str] | None = None) -> Config:
    path = tmp_path / "hc.toml"
    path.write_text(BASE + "\n[mail]\n" + mail, encoding="utf-8")
    return load_config(path, environ=environ or {})


def _error(tmp_path: Path, mail: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, mail, environ)
    assert PASSWORD not in str(info.value)
    return info.value


def test_no_mail_table_means_none(tmp_path: Path) -> None:
    path = tmp_path / "hc.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_config(path, environ={}).mail is None


def test_full_mail_table(tmp_path: Path) -> None:
    config = _load(tmp_path, f"""
smtp_url = "smtp://mail.example.nl:587"
username = "compliance"
password = "{PASSWORD}"
from = "Example Hosting compliance <compliance@example.nl>"
""")
    assert config.mail == MailConfig(
        smtp_url="smtp://mail.example.nl:587", username="compliance", password=PASSWORD,
        sender="Example Hosting compliance <compliance@example.nl>")
    assert (config.mail.host, config.mail.port, config.mail.implicit_tls) == (
        "mail.example.nl", 587, False)
    assert PASSWORD not in repr(config)


def test_password_from_the_environment(tmp_path: Path) -> None:
    config = _load(tmp_path, """
smtp_url = "smtps://mail.example.nl"
username = "compliance"
password_env = "HC_SMTP_PASSWORD"
from = "compliance@example.nl"
""", {"HC_SMTP_PASSWORD": PASSWORD})
    assert config.mail is not None
    assert config.mail.password == PASSWORD
    assert (config.mail.port, config.mail.implicit_tls) == (465, True)


def test_without_login(tmp_path: Path) -> None:
    config = _load(tmp_path, 'smtp_url = "smtp://127.0.0.1/"\nfrom = "hc@example.nl"\n')
    assert config.mail is not None
    assert (config.mail.smtp_url, config.mail.port) == ("smtp://127.0.0.1", 25)
    assert config.mail.username is None and config.mail.password is None


GOOD = 'smtp_url = "smtp://mail.example.nl"\nfrom = "hc@example.nl"\n'


@pytest.mark.parametrize(
    ("mail", "environ", "key", "problem"),
    [
        ('from = "hc@example.nl"\n', None, "mail.smtp_url", "required key is missing"),
        ('smtp_url = "smtp://mail.example.nl"\n', None, "mail.from", "required key is missing"),
        (GOOD + 'pasword = "x"\n', None, "mail.pasword", "did you mean 'password'"),
        ('smtp_url = "http://mail.example.nl"\nfrom = "a@b.nl"\n', None, "mail.smtp_url",
         "smtp://HOST"),
        ('smtp_url = "smtp://"\nfrom = "a@b.nl"\n', None, "mail.smtp_url", "smtp://HOST"),
        ('smtp_url = "smtp://mail.example.nl:99999"\nfrom = "a@b.nl"\n', None, "mail.smtp_url",
         "not a valid URL"),
        (f'smtp_url = "smtp://u:{PASSWORD}@mail.example.nl"\nfrom = "a@b.nl"\n', None,
         "mail.smtp_url", "must not contain credentials"),
        ('smtp_url = "smtp://mail.example.nl/x?y=1"\nfrom = "a@b.nl"\n', None, "mail.smtp_url",
         "must be only"),
        ('smtp_url = "smtp://mail.example.nl"\nfrom = "not an address"\n', None, "mail.from",
         "one mail address"),
        ('smtp_url = "smtp://mail.example.nl"\nfrom = "a@b.nl, c@d.nl"\n', None, "mail.from",
         "one mail address"),
        ('smtp_url = "smtp://mail.example.nl"\nfrom = 7\n', None, "mail.from",
         "must be a string"),
        (GOOD + f'username = "u"\npassword = "{PASSWORD}"\npassword_env = "P"\n', None,
         "mail.password_env", "not both"),
        (GOOD + f'password = "{PASSWORD}"\n', None, "mail.username", "required when a password"),
        (GOOD + 'username = "u"\n', None, "mail.password", "required when a username"),
        (GOOD + 'username = "u"\npassword_env = "HC_SMTP_PASSWORD"\n', {}, "mail.password_env",
         "HC_SMTP_PASSWORD is unset or empty"),
        (GOOD + 'username = "u"\npassword_env = "not a name"\n', {}, "mail.password_env",
         "name of an environment variable"),
    ],
)
def test_every_mistake_names_its_key(
    tmp_path: Path, mail: str, environ: dict[str, str] | None, key: str, problem: str
) -> None:
    error = _error(tmp_path, mail, environ)
    assert error.key == key
    assert problem in error.problem


def test_mail_must_be_a_table(tmp_path: Path) -> None:
    path = tmp_path / "hc.toml"
    path.write_text('mail = "smtp://x"\n' + BASE, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key == "mail"


def test_mail_config_checks_itself_when_built_directly() -> None:
    with pytest.raises(ConfigError) as info:
        MailConfig(smtp_url="ftp://x", sender="a@b.nl")
    assert info.value.key == "mail.smtp_url"
    with pytest.raises(ConfigError) as info:
        MailConfig(smtp_url="smtp://x", sender="a@b.nl", username="u")
    assert info.value.key == "mail.username"
    assert PASSWORD not in repr(
        MailConfig(smtp_url="smtp://x", sender="a@b.nl", username="u", password=PASSWORD))
