"""``hoster-compliance alerts test`` (PROTOCOL 9.4): a test alert through every channel (or one),
a line per channel, exit 1 when any failed, exit 2 with one line on bad usage; against a real
SMTP server and real loopback endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hoster_compliance.cli import cli
from tests.helpers.hooks import HookSink
from tests.helpers.processes import free_port
from tests.helpers.smtp import SmtpSink

ROUTING_KEY = "R0UTINGKEY0123456789abcdefghijkl"


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, HookSink, HookSink]]:
    with SmtpSink() as smtp, HookSink() as chat, HookSink(202, "/v2/enqueue") as pager:
        yield smtp, chat, pager


def write(tmp_path: Path, smtp_url: str, channels: str) -> str:
    path = tmp_path / "hc.toml"
    path.write_text(f"""\
hoster_id = "example-hosting"
database_url = "sqlite:///hc.db"
operator_tokens = ["t0ken-for-tests-16"]
dashboard_url = "https://compliance.example.nl"
callback_timeout_seconds = 3

[[issuers]]
id = "nl-atkm"
member_state = "NL"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
api_base = "http://127.0.0.1:9"

[mail]
smtp_url = "{smtp_url}"
from = "Example Hosting compliance <compliance@example.nl>"
{channels}""", encoding="utf-8")
    return str(path)


def three(chat: HookSink, pager: HookSink) -> str:
    return f"""
[[alerts]]
name = "abuse-desk"
channel = "email"
to = ["abuse@example.nl"]

[[alerts]]
name = "chat"
channel = "webhook"
url_env = "HC_TEST_CHAT_URL"

[[alerts]]
name = "pager"
channel = "pagerduty"
routing_key_env = "HC_TEST_PD_KEY"
url = "{pager.url}"
"""


def run(monkeypatch: pytest.MonkeyPatch, chat_url: str, *args: str) -> Any:
    monkeypatch.setenv("HC_TEST_CHAT_URL", chat_url)
    monkeypatch.setenv("HC_TEST_PD_KEY", ROUTING_KEY)
    return CliRunner().invoke(cli, ["alerts", "test", *args])


def test_every_channel_reports_delivered(
    tmp_path: Path, sinks: tuple[SmtpSink, HookSink, HookSink],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp, chat, pager = sinks
    config = write(tmp_path, smtp.url, three(chat, pager))
    result = run(monkeypatch, chat.url, "--config", config)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "abuse-desk: delivered", "chat: delivered", "pager: delivered"]
    (mail,) = smtp.wait(1)
    assert mail["Subject"] == (
        "[example-hosting] test: an alert from hoster-compliance through channel abuse-desk")
    assert "If you read this, alerts reach you here." in mail.get_content()
    (hook,) = chat.bodies
    assert hook["text"] == ("[example-hosting] test: an alert from hoster-compliance through "
                            "channel chat")
    assert hook["hoster_compliance"]["event"] == "test"
    (page,) = pager.bodies
    assert page["event_action"] == "trigger" and page["routing_key"] == ROUTING_KEY
    assert page["dedup_key"].startswith("example-hosting/test/")
    assert page["payload"]["severity"] == "warning"


def test_one_channel_only(
    tmp_path: Path, sinks: tuple[SmtpSink, HookSink, HookSink],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp, chat, pager = sinks
    config = write(tmp_path, smtp.url, three(chat, pager))
    result = run(monkeypatch, chat.url, "--config", config, "--channel", "chat")
    assert (result.exit_code, result.output) == (0, "chat: delivered\n")
    assert smtp.messages == [] and pager.posts == [] and len(chat.posts) == 1


def test_a_failing_channel_says_why_and_exits_1(
    tmp_path: Path, sinks: tuple[SmtpSink, HookSink, HookSink],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp, chat, pager = sinks
    pager.status = 400
    smtp.fail_rcpt["*"] = "550 5.1.1 No such user"
    dead = f"http://127.0.0.1:{free_port()}/hooks/T000/B000/SECRETtoken"
    config = write(tmp_path, smtp.url, three(chat, pager))
    result = run(monkeypatch, dead, "--config", config)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "abuse-desk: failed: all recipients refused: abuse@example.nl: 550 5.1.1 " \
                       "No such user"
    assert lines[1].startswith("chat: failed: ConnectionError")
    assert "SECRETtoken" not in result.output and ROUTING_KEY not in result.output
    assert lines[2] == "pager: failed: HTTP 400"


@pytest.mark.parametrize(
    ("channels", "args", "message"),
    [
        ("", [], "hoster-compliance: alerts: no [[alerts]] channel is configured"),
        ('[[alerts]]\nname = "chat"\nchannel = "webhook"\nurl_env = "HC_TEST_CHAT_URL"\n',
         ["--channel", "nope"],
         "hoster-compliance: --channel: no alert channel is named 'nope' (configured: chat)"),
        ('[[alerts]]\nname = "chat"\nchannel = "webhook"\n', [],
         "hoster-compliance: bad configuration: alerts[0].url: required key is missing "
         "(or give url_env)"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: str, args: list[str],
    message: str,
) -> None:
    config = write(tmp_path, "smtp://127.0.0.1:25", channels)
    result = run(monkeypatch, "http://127.0.0.1:9/x", "--config", config, *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [message]
