"""Alerts configuration (PROTOCOL 9.1, 9.4): dashboard_url, due_soon_at, metrics_public and the
[[alerts]] channels; every mistake one ConfigError naming its key, never echoing a URL or key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoster_compliance.config import Config, load_config
from hoster_compliance.config_alerts import PAGERDUTY_URL, AlertChannel
from hoster_compliance.errors import ConfigError

BASE = """\
hoster_id = "h1"
database_url = "sqlite:///c.db"
operator_tokens = ["operator-token-1"]
{top}
[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
api_base = "https://issuer.example/api"

[mail]
smtp_url = "smtp://mail.example.nl"
from = "hc@example.nl"
"""
HOOK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
ROUTING_KEY = "R0UTINGKEYsecret0123456789abcdef"


def _load(tmp_path: Path, alerts: str, top: str = "", environ: dict[str, str] | None = None,
          base: str = BASE) -> Config:
    path = tmp_path / "hc.toml"
    path.write_text(base.format(top=top) + "\n" + alerts, encoding="utf-8")
    return load_config(path, environ=environ or {})


def _error(tmp_path: Path, alerts: str, top: str = "", environ: dict[str, str] | None = None,
           base: str = BASE) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, alerts, top, environ, base)
    for secret in (HOOK, ROUTING_KEY, "XXXXsecretXXXX"):
        assert secret not in str(info.value)
    return info.value


THREE = """
[[alerts]]
name = "abuse-desk"
channel = "email"
to = ["abuse@example.nl", "Night Desk <night@example.nl>"]
events = ["received", "due_soon", "overdue", "delivery_failed", "automation_failed"]
kinds = ["order", "notice", "own_initiative"]
regimes = ["EU_TCO", "NL_ATKM"]
include_urls = false

[[alerts]]
name = "chat"
channel = "webhook"
url_env = "HC_CHAT_WEBHOOK_URL"

[[alerts]]
name = "pager"
channel = "pagerduty"
routing_key_env = "HC_PAGERDUTY_KEY"
events = ["received", "overdue", "resolved"]
"""


def test_the_three_channels_of_the_protocol(tmp_path: Path) -> None:
    config = _load(tmp_path, THREE, top='dashboard_url = "https://compliance.example.nl/"\n'
                   'due_soon_at = 0.5\nmetrics_public = true\nalert_check_seconds = 0.5\n',
                   environ={"HC_CHAT_WEBHOOK_URL": HOOK, "HC_PAGERDUTY_KEY": ROUTING_KEY})
    assert config.dashboard_url == "https://compliance.example.nl"
    assert config.due_soon_at == 0.5
    assert config.alert_check_seconds == 0.5
    assert config.metrics_public is True
    email, chat, pager = config.alerts
    assert email == AlertChannel(
        name="abuse-desk", channel="email",
        to=("abuse@example.nl", "Night Desk <night@example.nl>"),
        events=frozenset({"received", "due_soon", "overdue", "delivery_failed",
                          "automation_failed"}),
        kinds=frozenset({"order", "notice", "own_initiative"}),
        regimes=frozenset({"EU_TCO", "NL_ATKM"}), include_urls=False)
    assert (chat.channel, chat.url, chat.include_urls) == ("webhook", HOOK, False)
    assert chat.events == {"received", "due_soon", "overdue", "delivery_failed",
                           "automation_failed", "test"}  # default: all but resolved
    assert (pager.routing_key, pager.url) == (ROUTING_KEY, PAGERDUTY_URL)
    assert config.alert_channel("pager") is pager
    assert config.alert_channel("nope") is None
    for secret in (HOOK, ROUTING_KEY):
        assert secret not in repr(config)


def test_defaults_without_alerts(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert (config.dashboard_url, config.due_soon_at, config.metrics_public, config.alerts) == (
        None, 0.75, False, ())
    assert config.alert_check_seconds == 5.0  # at most 25: raised within 30 s (PROTOCOL 9.2)


def test_pagerduty_defaults_take_every_event_including_resolved(tmp_path: Path) -> None:
    config = _load(tmp_path, f"""
[[alerts]]
name = "pager"
channel = "pagerduty"
routing_key = "{ROUTING_KEY}"
url = "https://events.eu.pagerduty.com/v2/enqueue"
include_urls = true
""")
    (pager,) = config.alerts
    assert pager.url == "https://events.eu.pagerduty.com/v2/enqueue"
    assert "resolved" in pager.events and pager.include_urls
    assert pager.wants("overdue", "notice", "OTHER")


def test_filters_decide_what_a_channel_wants() -> None:
    channel = AlertChannel(name="c", channel="webhook", url=HOOK, events=frozenset({"overdue"}),
                           kinds=frozenset({"order"}), regimes=frozenset({"EU_TCO"}))
    assert channel.wants("overdue", "order", "EU_TCO")
    assert not channel.wants("received", "order", "EU_TCO")
    assert not channel.wants("overdue", "notice", "EU_TCO")
    assert not channel.wants("overdue", "order", "NL_ATKM")
    assert channel.wants("test")


WEBHOOK = '[[alerts]]\nname = "chat"\nchannel = "webhook"\n'


@pytest.mark.parametrize(
    ("alerts", "top", "environ", "key", "problem"),
    [
        ("", 'dashboard_url = "ftp://x"\n', None, "dashboard_url", "http:// or https://"),
        ("", "due_soon_at = 1.0\n", None, "due_soon_at", "between 0 and 1"),
        ("", "due_soon_at = 0\n", None, "due_soon_at", "between 0 and 1"),
        ("", 'due_soon_at = "0.7"\n', None, "due_soon_at", "must be a number"),
        ("", "alert_check_seconds = 25.5\n", None, "alert_check_seconds", "at most 25"),
        ("", "alert_check_seconds = 0\n", None, "alert_check_seconds", "positive"),
        ("", 'alert_check_seconds = "5"\n', None, "alert_check_seconds", "must be a number"),
        ("", 'metrics_public = "yes"\n', None, "metrics_public", "true or false"),
        ("", 'alerts = "x"\n', None, "alerts", "array of tables"),
        ('[[alerts]]\nchannel = "webhook"\n' + f'url = "{HOOK}"\n', "", None, "alerts[0].name",
         "required key is missing"),
        ('[[alerts]]\nname = "a b"\nchannel = "webhook"\n' + f'url = "{HOOK}"\n', "", None,
         "alerts[0].name", "1-64 characters"),
        ('[[alerts]]\nname = "x"\nchannel = "sms"\n', "", None, "alerts[0].channel",
         "email, webhook, pagerduty"),
        (WEBHOOK, "", None, "alerts[0].url", "required key is missing (or give url_env)"),
        (WEBHOOK + f'url = "{HOOK}"\nurl_env = "X"\n', "", None, "alerts[0].url_env", "not both"),
        (WEBHOOK + 'url_env = "HC_CHAT"\n', "", {}, "alerts[0].url_env", "HC_CHAT is unset"),
        (WEBHOOK + f'url = "{HOOK}#frag"\n', "", None, "alerts[0].url", "fragment"),
        (WEBHOOK + 'url = "https://user:pw@hooks.example"\n', "", None, "alerts[0].url",
         "credentials"),
        (WEBHOOK + f'url = "{HOOK}"\nto = ["a@b.nl"]\n', "", None, "alerts[0].to",
         "only of email"),
        (WEBHOOK + f'url = "{HOOK}"\nincldue_urls = true\n', "", None, "alerts[0].incldue_urls",
         "did you mean 'include_urls'"),
        (WEBHOOK + f'url = "{HOOK}"\nevents = ["recieved"]\n', "", None, "alerts[0].events[0]",
         "unknown event 'recieved'"),
        (WEBHOOK + f'url = "{HOOK}"\nevents = []\n', "", None, "alerts[0].events",
         "must not be empty"),
        (WEBHOOK + f'url = "{HOOK}"\nevents = ["resolved"]\n', "", None, "alerts[0].events",
         "only sent to pagerduty"),
        (WEBHOOK + f'url = "{HOOK}"\nkinds = ["orders"]\n', "", None, "alerts[0].kinds[0]",
         "unknown kind 'orders'"),
        (WEBHOOK + f'url = "{HOOK}"\nregimes = ["NL_NTD", "EU-TCO"]\n', "", None,
         "alerts[0].regimes[1]", "unknown regime 'EU-TCO'"),
        (WEBHOOK + f'url = "{HOOK}"\ninclude_urls = 1\n', "", None, "alerts[0].include_urls",
         "true or false"),
        (WEBHOOK + f'url = "{HOOK}"\n' + WEBHOOK + f'url = "{HOOK}"\n', "", None,
         "alerts[1].name", "used twice"),
        ('[[alerts]]\nname = "mail"\nchannel = "email"\n', "", None, "alerts[0].to",
         "required key is missing"),
        ('[[alerts]]\nname = "mail"\nchannel = "email"\nto = []\n', "", None, "alerts[0].to",
         "must not be empty"),
        ('[[alerts]]\nname = "mail"\nchannel = "email"\nto = ["nobody"]\n', "", None,
         "alerts[0].to[0]", "not one mail address"),
        ('[[alerts]]\nname = "p"\nchannel = "pagerduty"\n', "", None, "alerts[0].routing_key",
         "required key is missing"),
        ('[[alerts]]\nname = "p"\nchannel = "pagerduty"\nrouting_key = "a b"\n', "", None,
         "alerts[0].routing_key", "printable ASCII"),
        ('[[alerts]]\nname = "p"\nchannel = "pagerduty"\nrouting_key_env = "K"\n', "",
         {"K": " "}, "alerts[0].routing_key_env", "K is unset or empty"),
    ],
)
def test_every_mistake_names_its_key(
    tmp_path: Path, alerts: str, top: str, environ: dict[str, str] | None, key: str,
    problem: str,
) -> None:
    error = _error(tmp_path, alerts, top, environ)
    assert error.key == key
    assert problem in error.problem


def test_an_email_channel_needs_the_mail_table(tmp_path: Path) -> None:
    base = BASE.split("[mail]")[0]
    error = _error(tmp_path, '[[alerts]]\nname = "desk"\nchannel = "email"\nto = ["a@b.nl"]\n',
                   base=base)
    assert error.key == "mail"
    assert "alerts[0] (desk) sends e-mail" in error.problem


def test_config_built_directly_checks_the_mail_table() -> None:
    channel = AlertChannel(name="desk", channel="email", to=("a@b.nl",))
    with pytest.raises(ConfigError) as info:
        Config(hoster_id="h", database_url="sqlite://", operator_tokens=("t",), issuers=(),
               alerts=(channel,))
    assert info.value.key == "mail"
