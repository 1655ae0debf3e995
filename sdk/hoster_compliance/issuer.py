"""The issuer's side of the protocol: send signed orders to a hoster, verify its callbacks, and a
small loopback callback endpoint. Used by the simulator, the tests and authorities adopting v1."""

from __future__ import annotations

import json
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests

from . import errors, signing
from .timeutil import format_time

#: A response plan entry: a status, or a status and its ``Retry-After`` value.
PlanEntry = int | tuple[int, str | None]


def _secret_list(secret: str | Sequence[str]) -> list[str]:
    listed = [secret] if isinstance(secret, str) else list(secret)
    if not listed:
        raise ValueError("at least one secret is needed")
    return listed


def _parse_json(body: bytes) -> Any:
    """Parsed JSON, or ``InvalidJson``; never another exception (deep nesting included)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise errors.InvalidJson("body is not valid JSON") from None


def new_message_id() -> str:
    """A fresh Standard Webhooks message id (``msg_`` and 24 random URL-safe characters)."""
    return "msg_" + _secrets.token_urlsafe(18)


class IssuerSender:
    """Posts signed envelopes to a hoster's ``/v1/webhooks/{issuer_id}`` (PROTOCOL 2).

    With several secrets every message carries one token per secret, as a sender does while a
    rotation is under way.
    """

    def __init__(
        self,
        receiver_url: str,
        issuer_id: str,
        secret: str | Sequence[str],
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.url = f"{receiver_url.rstrip('/')}/v1/webhooks/{quote(issuer_id, safe='')}"
        self.issuer_id = issuer_id
        self.secrets = _secret_list(secret)
        self.clock = clock
        self.timeout = timeout
        self._own = session is None
        self.session = session if session is not None else requests.Session()

    def envelope(self, event_type: str, data: dict[str, Any], *, timestamp: int) -> bytes:
        """The body bytes of ``{"type", "timestamp", "data"}``, its time RFC 3339 in UTC."""
        when = format_time(datetime.fromtimestamp(timestamp, UTC))
        return json.dumps({"type": event_type, "timestamp": when, "data": data}).encode("utf-8")

    def headers_for(
        self, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        """Signature headers (newest secret's token first) and ``Content-Type`` for ``body``."""
        ts = int(self.clock()) if timestamp is None else timestamp
        headers = signing.signature_headers(
            self.secrets[-1],
            msg_id or new_message_id(),
            body,
            timestamp=ts,
            extra_secrets=self.secrets[:-1],
        )
        headers["Content-Type"] = "application/json"
        return headers

    def send(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """Sign and post one event; the same ``msg_id`` again is a redelivery."""
        ts = int(self.clock()) if timestamp is None else timestamp
        body = self.envelope(event_type, data, timestamp=ts)
        return self.send_raw(body, self.headers_for(body, msg_id=msg_id, timestamp=ts))

    def send_order(
        self, data: dict[str, Any], *, msg_id: str | None = None, timestamp: int | None = None
    ) -> requests.Response:
        """Send an ``order.created`` event (an order or a notice, per ``data["kind"]``)."""
        return self.send("order.created", data, msg_id=msg_id, timestamp=timestamp)

    def withdraw(
        self,
        order_id: str,
        reason: str | None = None,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """Send an ``order.withdrawn`` event."""
        data: dict[str, Any] = {"order_id": order_id}
        if reason is not None:
            data["reason"] = reason
        return self.send("order.withdrawn", data, msg_id=msg_id, timestamp=timestamp)

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> requests.Response:
        """Post ``body`` with exactly ``headers`` (for tests of malformed requests)."""
        return self.session.post(
            self.url, data=body, headers=dict(headers), timeout=self.timeout,
            allow_redirects=False,
        )

    def close(self) -> None:
        """Close the session if this sender created it."""
        if self._own:
            self.session.close()

    def __enter__(self) -> IssuerSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def verify_callback(
    secrets: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Verify a hoster's callback, then parse it: the signature is checked on the raw bytes first.

    Raises the ``SignatureError`` subclasses, ``InvalidJson``, or ``InvalidPayload`` when the JSON
    is not an object.
    """
    listed = [secrets] if isinstance(secrets, str) else secrets
    signing.verify(listed, headers, body, now=time.time() if now is None else now,
                   tolerance=tolerance)
    payload = _parse_json(body)
    if not isinstance(payload, dict):
        raise errors.InvalidPayload("callback body is not a JSON object")
    return payload


@dataclass(frozen=True)
class ReceivedCallback:
    """One request the ``CallbackServer`` got, and how it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # the parsed JSON, None when the body is not JSON
    webhook_id: str | None
    verified: bool
    error: str | None  # the signature error code when not verified
    status: int  # what the server answered
    received_at: float  # time.monotonic()


class _Server(ThreadingHTTPServer):
    # Join the handler threads on close, so nothing outlives stop() (no ResourceWarning).
    daemon_threads = False
    block_on_close = True
    owner: CallbackServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a stalled client cannot keep stop() waiting for ever

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= 10 * 1024 * 1024:
            self._answer(400, {"error": "bad_request"}, {})
            return
        body = self.rfile.read(length)
        status, answer, extra = self.server.owner._handle(self.path, self.headers, body)
        self._answer(status, answer, extra)

    def _answer(self, status: int, answer: dict[str, Any], extra: dict[str, str]) -> None:
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the records are the log."""


class CallbackServer:
    """The issuer's callback endpoint on loopback: verifies, records, answers per a plan.

    Verified requests take the next status of ``responses`` (then ``default_status``); a request
    that fails verification is answered 401 and takes nothing from the plan.
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        responses: Iterable[PlanEntry] = (),
        default_status: int = 200,
        host: str = "127.0.0.1",
        port: int = 0,
        tolerance: int = signing.DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secrets = _secret_list(secrets)
        self.default_status = default_status
        self.tolerance = tolerance
        self.clock = clock
        self._address = (host, port)
        self._plan: list[PlanEntry] = list(responses)
        self._received: list[ReceivedCallback] = []
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def respond_with(self, *entries: PlanEntry) -> None:
        """Append statuses (or ``(status, retry_after)``) to the response plan."""
        with self._changed:
            self._plan.extend(entries)

    @property
    def url(self) -> str:
        """The base URL to configure as the issuer's ``api_base``."""
        if self._server is None:
            raise RuntimeError("the callback server is not started")
        return f"http://{self._address[0]}:{self._server.server_port}"

    @property
    def received(self) -> list[ReceivedCallback]:
        """A snapshot of every request received so far, in arrival order."""
        with self._changed:
            return list(self._received)

    def start(self) -> CallbackServer:
        """Bind (port 0: a free port) and serve in a background thread."""
        if self._server is not None:
            return self
        server = _Server(self._address, _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="callback-server", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join every thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> CallbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for(
        self,
        until: int | Callable[[list[ReceivedCallback]], bool],
        timeout: float = 5.0,
    ) -> list[ReceivedCallback]:
        """Block until ``until`` requests arrived (or ``until(received)`` holds); the snapshot.

        Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        predicate: Callable[[list[ReceivedCallback]], bool]
        if isinstance(until, int):
            count = until

            def predicate(received: list[ReceivedCallback]) -> bool:
                return len(received) >= count
        else:
            predicate = until
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._received), timeout):
                raise TimeoutError(
                    f"callback server: condition not met, {len(self._received)} received"
                )
            return list(self._received)

    def _handle(
        self, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        error: errors.SignatureError | None = None
        try:
            signing.verify(self.secrets, headers, body, now=self.clock(),
                           tolerance=self.tolerance)
        except errors.SignatureError as exc:
            error = exc
        try:
            payload = _parse_json(body)
        except errors.InvalidJson:
            payload = None
        extra: dict[str, str] = {}
        with self._changed:
            if error is not None:
                status, answer = 401, error.to_body()
            else:
                entry = self._plan.pop(0) if self._plan else self.default_status
                status, retry_after = entry if isinstance(entry, tuple) else (entry, None)
                answer = {"status": status}
                if retry_after is not None:
                    extra["Retry-After"] = retry_after
                if 300 <= status < 400:
                    extra["Location"] = "/redirected" + path
            self._received.append(
                ReceivedCallback(
                    path=path,
                    headers=dict(headers.items()),
                    body=body,
                    payload=payload,
                    webhook_id=headers.get(signing.ID_HEADER),
                    verified=error is None,
                    error=error.code if error is not None else None,
                    status=status,
                    received_at=time.monotonic(),
                )
            )
            self._changed.notify_all()
        return status, answer, extra
