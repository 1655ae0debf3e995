"""Outgoing mail over SMTP (``[mail]``, PROTOCOL 9.1): one attempt per call, never raising.

    sender = MailSender(config.mail, timeout=15.0)
    message = compose(config.mail, ["abuse@example.nl"], "subject", "body text")
    result = sender.send(message)
    result.outcome  # retry_policy.DELIVERED, RETRY or FAILED
    result.error    # None, or one line saying why (never the password)

``smtp://`` upgrades the connection with STARTTLS when the server offers it; ``smtps://`` speaks
TLS from the first byte; certificates are verified against the system's CAs (as by
``ssl.create_default_context``, but never writing a TLS key log to ``SSLKEYLOGFILE``) unless a
context is given. The password is only ever sent over an encrypted connection: a plain server
that offers no STARTTLS gets no login (a permanent failure). Every step (connect, TLS handshake,
each command and reply) has ``timeout`` seconds, and the whole attempt ends after ``deadline``
seconds (default: four times ``timeout``).

The outcome follows ``retry_policy.classify_smtp``: network errors, timeouts and 4xx replies are
worth another attempt, a 5xx reply is final. The outbox decides when, like for callbacks.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ..config_mail import MailConfig, parse_address
from ..timeutil import utcnow
from . import retry_policy


@dataclass(frozen=True)
class MailResult:
    """What one attempt got: the outcome for the retry policy, the SMTP reply code that decided
    it (None without one: success, network error, timeout) and one line of explanation."""

    outcome: str
    error: str | None
    code: int | None
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        """True when the server accepted the message (for at least one recipient)."""
        return self.outcome == retry_policy.DELIVERED


def compose(
    mail: MailConfig,
    to: Sequence[str],
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    date: datetime | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """One text/plain UTF-8 message from ``mail.sender`` to ``to``. Control characters in the
    subject become spaces (no header injection). Give the same ``message_id`` on every attempt
    of one message (without brackets it is wrapped in ``<...>``)."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = ", ".join(to)
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Subject"] = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in subject)
    message["Date"] = format_datetime(date or utcnow())
    if message_id is None:
        message_id = make_msgid(domain=parse_address(mail.sender).domain)
    elif not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    message["Message-ID"] = message_id
    message.set_content(body, charset="utf-8")
    return message


class _Deadline:
    """Before every command and reply, the socket's timeout becomes the smaller of the step
    timeout and what is left of the attempt's deadline."""

    step_timeout: float
    ends_at: float

    def _arm(self) -> None:
        left = self.ends_at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's deadline passed")
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.settimeout(min(self.step_timeout, left))

    def send(self, s: bytes | str) -> None:
        self._arm()
        super().send(s)  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        self._arm()
        reply: tuple[int, bytes] = super().getreply()  # type: ignore[misc]
        return reply


class _SMTP(_Deadline, smtplib.SMTP):  # type: ignore[misc]  # send() takes str | bytes
    pass


class _SMTPS(_Deadline, smtplib.SMTP_SSL):  # type: ignore[misc]
    pass


class MailSender:
    """Sends messages through the configured SMTP server, one connection per message (alerts
    are rare; a held connection would only time out in between)."""

    def __init__(
        self,
        mail: MailConfig,
        *,
        timeout: float = 15.0,
        deadline: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.mail = mail
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else 4 * timeout
        if ssl_context is None:
            # ssl.create_default_context() but for the SSLKEYLOGFILE it reads: it would write
            # every session secret to that file (as delivery/deadline.py avoids for HTTP).
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # certificate and hostname
            ssl_context.load_default_certs()
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname

    def send(self, message: EmailMessage) -> MailResult:
        """Deliver ``message`` (recipients from its To/Cc headers); never raises."""
        started = time.perf_counter()

        def result(outcome: str, error: str | None, code: int | None = None) -> MailResult:
            elapsed = (time.perf_counter() - started) * 1000.0
            return MailResult(outcome, self._redact(error), code, elapsed)

        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._connect()
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            worst = max(codes) if codes else 550
            detail = "; ".join(
                f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
            )
            return result(retry_policy.classify_smtp(worst), f"all recipients refused: {detail}",
                          worst)
        except smtplib.SMTPResponseException as exc:
            return result(retry_policy.classify_smtp(exc.smtp_code),
                          f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code)
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
                return result(retry_policy.RETRY, "timeout: the server did not answer in time")
            return result(retry_policy.RETRY, f"disconnected: {exc}")
        except _Refused as exc:
            return result(retry_policy.FAILED, str(exc))
        except smtplib.SMTPException as exc:  # no AUTH, no suitable mechanism...
            return result(retry_policy.FAILED, f"{type(exc).__name__}: {exc}")
        except TimeoutError as exc:
            return result(retry_policy.RETRY, f"timeout: {exc or 'no answer'}")
        except OSError as exc:  # refused, unreachable, TLS errors
            return result(retry_policy.RETRY, f"{type(exc).__name__}: {exc}")
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        if refused:
            detail = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in refused.items())
            return result(retry_policy.DELIVERED, f"some recipients refused: {detail}")
        return result(retry_policy.DELIVERED, None)

    def _connect(self) -> smtplib.SMTP:
        mail = self.mail
        smtp: _SMTP | _SMTPS
        if mail.implicit_tls:  # no host yet: connect() below, once the deadline is armed
            smtp = _SMTPS(local_hostname=self.local_hostname, timeout=self.timeout,
                          context=self.ssl_context)
        else:
            smtp = _SMTP(local_hostname=self.local_hostname, timeout=self.timeout)
        smtp.step_timeout = self.timeout
        smtp.ends_at = time.monotonic() + self.deadline
        # The name TLS checks the certificate against; smtplib only sets it when the constructor
        # connects, which would happen before the deadline above is armed.
        smtp._host = mail.host  # type: ignore[union-attr]
        try:
            smtp.connect(mail.host, mail.port)
            smtp.ehlo()
            encrypted = mail.implicit_tls
            if not encrypted and smtp.has_extn("starttls"):
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
                encrypted = True
            if mail.username is not None and mail.password is not None:
                if not encrypted:
                    raise _Refused(
                        "the server offers no STARTTLS: the password is never sent unencrypted"
                    )
                smtp.login(mail.username, mail.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _redact(self, text: str | None) -> str | None:
        if text is None:
            return None
        text = " ".join(text.split())  # one line
        if self.mail.password:
            text = text.replace(self.mail.password, "[secret]")
        return text[:500]


class _Refused(Exception):
    """We refuse to go on (not the server): a permanent failure."""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
