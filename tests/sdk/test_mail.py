"""The mail sender against a real SMTP server on 127.0.0.1 (aiosmtpd): messages parsed and checked
field by field; STARTTLS, smtps:// and login; every failure translated to the retry policy's
outcome, the password never in an error."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from hoster_compliance.config_mail import MailConfig
from hoster_compliance.delivery import retry_policy
from hoster_compliance.delivery.mail import MailSender, compose
from tests.helpers.smtp import SmtpSink, client_context, free_port, tls_files

PASSWORD = "s3cret-Pa55word"
FROM = "Example Hosting compliance <compliance@example.nl>"
WHEN = datetime(2026, 11, 22, 9, 0, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tls_files(tmp_path_factory.mktemp("tls"))


def _mail(url: str, **kwargs: str) -> MailConfig:
    return MailConfig(smtp_url=url, sender=FROM, **kwargs)


def _message(mail: MailConfig, **kwargs: object) -> object:
    return compose(mail, ["abuse@example.nl", "Night Desk <night@example.nl>"],
                   "[example-hosting] received: NL_ATKM order nl-atkm/ord-1 – café",
                   "Issuer: ATKM\nKind: order\nÉté\n", date=WHEN, **kwargs)  # type: ignore[arg-type]


def test_plain_message_arrives_field_by_field() -> None:
    with SmtpSink() as smtp:
        mail = _mail(smtp.url)
        message = compose(mail, ["abuse@example.nl", "Night Desk <night@example.nl>"],
                          "[example-hosting] received: NL_ATKM order nl-atkm/ord-1 – café",
                          "Issuer: ATKM\nKind: order\nÉté\n", date=WHEN, message_id="alert-7@hc")
        result = MailSender(mail, timeout=5).send(message)
        assert (result.outcome, result.error, result.code) == ("delivered", None, None)
        assert result.ok
        (got,) = smtp.wait(1)
    assert got["From"] == FROM
    assert got["To"] == "abuse@example.nl, Night Desk <night@example.nl>"
    assert got["Subject"] == "[example-hosting] received: NL_ATKM order nl-atkm/ord-1 – café"
    assert parsedate_to_datetime(got["Date"]) == WHEN
    assert got["Message-ID"] == "<alert-7@hc>"
    assert got.get_content_type() == "text/plain"
    assert got.get_content_charset() == "utf-8"
    assert got.get_content() == "Issuer: ATKM\nKind: order\nÉté\n"
    mail_from, rcpt_tos, authenticated, encrypted = smtp.envelopes[0]
    assert mail_from == "compliance@example.nl"
    assert rcpt_tos == ["abuse@example.nl", "night@example.nl"]
    assert (authenticated, encrypted) == (False, False)


def test_subject_control_characters_cannot_inject_headers() -> None:
    mail = _mail("smtp://127.0.0.1:25")
    message = compose(mail, ["a@example.nl"], "order x\r\nBcc: evil@example.com", "body")
    assert message["Subject"] == "order x  Bcc: evil@example.com"
    assert message["Bcc"] is None
    assert message["Message-ID"].endswith("@example.nl>")


def test_starttls_is_used_when_offered_and_login_happens_inside_it(tls: tuple[Path, Path]) -> None:
    with SmtpSink(tls=tls, logins={"compliance": PASSWORD}) as smtp:
        mail = _mail(smtp.url, username="compliance", password=PASSWORD)
        sender = MailSender(mail, timeout=5, ssl_context=client_context(tls[0]))
        result = sender.send(_message(mail))  # type: ignore[arg-type]
        assert result.outcome == "delivered", result.error
        smtp.wait(1)
    assert smtp.envelopes[0][2:] == (True, True)  # authenticated, encrypted


def test_starttls_without_login(tls: tuple[Path, Path]) -> None:
    with SmtpSink(tls=tls) as smtp:
        mail = _mail(smtp.url)
        result = MailSender(mail, timeout=5, ssl_context=client_context(tls[0])).send(
            _message(mail))  # type: ignore[arg-type]
        assert result.ok, result.error
        smtp.wait(1)
    assert smtp.envelopes[0][2:] == (False, True)


def test_the_default_tls_context_writes_no_key_log(
    tls: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SSLKEYLOGFILE set (after the sink made its own context), STARTTLS through the
    default context leaves no key log: the mail's session secrets stay in memory."""
    keylog = tmp_path / "tls-keys.log"
    with SmtpSink(tls=tls) as smtp:
        monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
        mail = _mail(smtp.url)
        sender = MailSender(mail, timeout=5)
        sender.ssl_context.load_verify_locations(tls[0])  # the default context, plus our CA
        result = sender.send(_message(mail))  # type: ignore[arg-type]
        assert result.ok, result.error
        smtp.wait(1)
    assert smtp.envelopes[0][2:] == (False, True)  # encrypted
    assert not keylog.exists()
    assert ssl.create_default_context().keylog_filename == str(keylog)  # what it avoids


def test_smtps_speaks_tls_from_the_first_byte(tls: tuple[Path, Path]) -> None:
    with SmtpSink(tls=tls, implicit_tls=True, logins={"compliance": PASSWORD}) as smtp:
        assert smtp.url.startswith("smtps://")
        mail = _mail(smtp.url, username="compliance", password=PASSWORD)
        result = MailSender(mail, timeout=5, ssl_context=client_context(tls[0])).send(
            _message(mail))  # type: ignore[arg-type]
        assert result.ok, result.error
        (got,) = smtp.wait(1)
    assert got["Subject"].endswith("café")
    assert smtp.envelopes[0][2:] == (True, True)


def test_wrong_password_fails_for_good_without_the_password(tls: tuple[Path, Path]) -> None:
    with SmtpSink(tls=tls, logins={"compliance": "another"}) as smtp:
        mail = _mail(smtp.url, username="compliance", password=PASSWORD)
        result = MailSender(mail, timeout=5, ssl_context=client_context(tls[0])).send(
            _message(mail))  # type: ignore[arg-type]
    assert result.outcome == "failed"
    assert result.code == 535
    assert result.error is not None and result.error.startswith("SMTP 535")
    assert PASSWORD not in result.error
    assert smtp.messages == []


def test_no_starttls_means_no_password_on_the_wire() -> None:
    with SmtpSink(logins={"compliance": PASSWORD}) as smtp:
        mail = _mail(smtp.url, username="compliance", password=PASSWORD)
        result = MailSender(mail, timeout=5).send(_message(mail))  # type: ignore[arg-type]
    assert result.outcome == "failed"
    assert result.error is not None and "never sent unencrypted" in result.error
    assert smtp.messages == []


def test_untrusted_certificate_is_not_accepted(tls: tuple[Path, Path]) -> None:
    with SmtpSink(tls=tls) as smtp:
        mail = _mail(smtp.url)
        result = MailSender(mail, timeout=5).send(_message(mail))  # type: ignore[arg-type]
    assert result.outcome == "retry"
    assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("where", "reply", "outcome"),
    [
        ("rcpt", "450 4.2.1 Mailbox busy", "retry"),
        ("rcpt", "550 5.1.1 No such user", "failed"),
        ("data", "451 4.3.0 Try again later", "retry"),
        ("data", "554 5.7.1 Rejected as spam", "failed"),
    ],
)
def test_smtp_replies_become_retry_policy_outcomes(where: str, reply: str, outcome: str) -> None:
    with SmtpSink() as smtp:
        if where == "rcpt":
            smtp.fail_rcpt["*"] = reply
        else:
            smtp.fail_data = reply
        mail = _mail(smtp.url)
        result = MailSender(mail, timeout=5).send(_message(mail))  # type: ignore[arg-type]
    assert result.outcome == outcome
    assert result.code == int(reply[:3])
    assert result.error is not None and reply[4:] in result.error
    assert smtp.messages == []


def test_one_refused_recipient_still_delivers_to_the_others() -> None:
    with SmtpSink() as smtp:
        smtp.fail_rcpt["abuse@example.nl"] = "550 5.1.1 No such user"
        mail = _mail(smtp.url)
        result = MailSender(mail, timeout=5).send(_message(mail))  # type: ignore[arg-type]
        smtp.wait(1)
    assert result.outcome == "delivered"
    assert result.error is not None and "abuse@example.nl: 550" in result.error
    assert smtp.envelopes[0][1] == ["night@example.nl"]


def test_nobody_listening_is_worth_a_retry() -> None:
    mail = _mail(f"smtp://127.0.0.1:{free_port()}")
    result = MailSender(mail, timeout=2).send(_message(mail))  # type: ignore[arg-type]
    assert result.outcome == "retry"
    assert result.code is None
    assert result.error is not None and "ConnectionRefusedError" in result.error


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize(("timeout", "deadline"), [(0.3, None), (10.0, 0.3)])
def test_a_silent_server_times_out(
    silent_server: int, timeout: float, deadline: float | None
) -> None:
    mail = _mail(f"smtp://127.0.0.1:{silent_server}")
    started = time.monotonic()
    result = MailSender(mail, timeout=timeout, deadline=deadline).send(
        _message(mail))  # type: ignore[arg-type]
    assert time.monotonic() - started < 3
    assert result.outcome == "retry"
    assert result.error is not None and result.error.startswith("timeout")


def test_classify_smtp() -> None:
    assert retry_policy.classify_smtp(None) == "retry"
    assert retry_policy.classify_smtp(250) == "delivered"
    assert [retry_policy.classify_smtp(c) for c in (421, 450, 452)] == ["retry"] * 3
    assert [retry_policy.classify_smtp(c) for c in (500, 535, 550, 554)] == ["failed"] * 4
