"""A real SMTP server on loopback for tests (aiosmtpd), bound to 127.0.0.1: it keeps every message
it accepts, parsed by the standard library, and can be told to answer a command with a given reply
(``fail_rcpt = "450 ..."``) to test the sender's retry decisions. ``tls_files`` makes a self-signed
certificate for 127.0.0.1 (cryptography) that a client context can trust."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.helpers.processes import free_port


def tls_files(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 and localhost, written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


def client_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts only the test certificate."""
    return ssl.create_default_context(cafile=str(cert))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.sink.fail_rcpt.get(address) or self.sink.fail_rcpt.get("*")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.sink.fail_data:
            return self.sink.fail_data
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(
            raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bool(session.authenticated),
                 session.ssl is not None or self.sink.implicit_tls))
            self.sink.received.set()
        return "250 Message accepted"


class SmtpSink:
    """``with SmtpSink() as smtp:`` a server at ``smtp.url`` (smtp:// or, with ``implicit_tls``,
    smtps://); ``messages`` holds what it accepted, ``envelopes`` (mail_from, rcpt_tos,
    authenticated, encrypted) per message."""

    def __init__(
        self,
        *,
        tls: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
        logins: dict[str, str] | None = None,
    ) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str], bool, bool]] = []
        self.fail_rcpt: dict[str, str] = {}
        self.fail_data: str | None = None
        self.lock = threading.Lock()
        self.received = threading.Event()
        self.logins = logins
        self.implicit_tls = implicit_tls  # the server speaks only TLS then
        self.port = free_port()
        self.url = f"{'smtps' if implicit_tls else 'smtp'}://127.0.0.1:{self.port}"
        kwargs: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            if implicit_tls:
                kwargs["ssl_context"] = context
            else:
                kwargs["tls_context"] = context
        if logins is not None:
            # aiosmtpd only counts STARTTLS as TLS; with smtps the whole session is.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=not implicit_tls)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     ready_timeout=5, **kwargs)

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.logins is not None
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.logins.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def wait(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait (bounded) until at least ``count`` messages arrived; returns them all."""
        import time

        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            self.received.wait(0.05)
            self.received.clear()
        with self.lock:
            return list(self.messages)
