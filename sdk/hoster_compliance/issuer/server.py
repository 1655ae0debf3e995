"""A small loopback endpoint that receives, verifies and records a hoster's callbacks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .. import errors
from ..protocol import keys as ed25519
from ..protocol import signing
from ..protocol.keys import Ed25519PublicKey
from ..protocol.strict_json import parse_json
from .common import PlanEntry, _public_keys, _secret_list
from .verifier import fetch_public_keys


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

    Callbacks verify against ``secrets`` (``v1``) or the hoster's ``public_keys`` (``v1a``, as
    published at ``/.well-known/hoster-compliance/keys``); give either or both.

    With ``hoster_url`` (the hoster's base URL), a ``v1a`` callback that no key verifies makes
    the server fetch the hoster's published keys again (the hoster may have rotated), at most
    once per ``refetch_interval`` seconds of ``clock``, and verify it once more with them. The
    published list then replaces ``public_keys``; a failed fetch keeps them. With ``hoster_url``
    the keys may start empty: the first ``v1a`` callback fetches them.

    Verified requests take the next status of ``responses`` (then ``default_status``); a request
    that fails verification is answered 401 and takes nothing from the plan.
    """

    def __init__(
        self,
        secrets: str | Sequence[str] | None = None,
        *,
        public_keys: str | Ed25519PublicKey | Sequence[str | Ed25519PublicKey] = (),
        hoster_url: str | None = None,
        refetch_interval: float = 60.0,
        responses: Iterable[PlanEntry] = (),
        default_status: int = 200,
        host: str = "127.0.0.1",
        port: int = 0,
        tolerance: int = signing.DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
        fetch_timeout: float = 10.0,
    ) -> None:
        self.secrets = _secret_list(secrets)
        self.public_keys = _public_keys(public_keys)
        if not self.secrets and not self.public_keys and hoster_url is None:
            raise ValueError("at least one secret, public key or hoster_url is needed")
        self.hoster_url = hoster_url
        self.refetch_interval = refetch_interval
        self.fetch_timeout = fetch_timeout
        #: How many times the hoster's keys were fetched (each attempt, failed or not).
        self.key_fetches = 0
        self._fetched_at: float | None = None
        self._keys_lock = threading.Lock()
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
        error = self._verify(headers, body)
        try:
            payload = parse_json(body)
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

    def _verify(self, headers: Any, body: bytes) -> errors.SignatureError | None:
        """None when the request verifies, else its error; one refetch of the hoster's keys
        for a ``v1a`` callback that the keys at hand do not verify."""
        keys = self.public_keys
        try:
            signing.verify(self.secrets, headers, body, now=self.clock(),
                           tolerance=self.tolerance, public_keys=keys)
            return None
        except errors.InvalidSignature as exc:
            if not _has_v1a_token(headers):
                return exc
            first = exc
        except errors.SignatureError as exc:  # missing headers, stale: no key would help
            return exc
        fresh = self._refetch_keys()
        if fresh is None or fresh is keys:
            return first
        try:
            signing.verify(self.secrets, headers, body, now=self.clock(),
                           tolerance=self.tolerance, public_keys=fresh)
            return None
        except errors.SignatureError as exc:
            return exc

    def _refetch_keys(self) -> list[Ed25519PublicKey] | None:
        """The keys to try again with: freshly fetched when ``refetch_interval`` has passed
        since the last fetch, or the ones another thread fetched meanwhile; None without
        ``hoster_url``."""
        if self.hoster_url is None:
            return None
        with self._keys_lock:  # one fetch at a time; the others then use its keys
            now = self.clock()
            if self._fetched_at is None or now - self._fetched_at >= self.refetch_interval:
                self._fetched_at = now
                self.key_fetches += 1
                try:
                    self.public_keys = fetch_public_keys(self.hoster_url,
                                                         timeout=self.fetch_timeout)
                except (errors.KeysUnavailable, errors.InvalidPayload):
                    pass  # keep the keys we have
            return self.public_keys


def _has_v1a_token(headers: Any) -> bool:
    values = headers.get_all(signing.SIGNATURE_HEADER) if hasattr(headers, "get_all") else None
    if values is None:
        values = [headers.get(signing.SIGNATURE_HEADER) or ""]
    return any(token.startswith(ed25519.VERSION + ",")
               for value in values for token in str(value).split())
