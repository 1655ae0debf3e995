"""Outbound callbacks, hoster -> issuer (PROTOCOL 3): one signed POST per attempt, never raising.

Retry policy lives in the outbox; this module only makes one attempt and reports what happened.
Every attempt ends within its timeout, all of it together (connect, send, every byte of the
answer: ``deadline.py``); at most ``MAX_ANSWER_BYTES`` of an answer are read (PROTOCOL 13.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ..protocol import signing
from .deadline import Watchdog, make_session

USER_AGENT = "hoster-compliance-callbacks/1"
#: At most this much of an answer is read; the rest is ignored (and the connection closed).
MAX_ANSWER_BYTES = 64 * 1024
_CHUNK_BYTES = 8192


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt got: an HTTP status, or ``status=None`` and a transport ``error``."""

    status: int | None
    error: str | None
    retry_after: str | None
    elapsed_ms: float
    #: The attempt ran out of time (the total deadline, or a connect or read timeout).
    timed_out: bool = False


class CallbackClient:
    """Sends signed callbacks over a ``requests.Session`` (keep-alive). The total deadline
    holds for sessions from :func:`deadline.make_session` (the default); a session given is
    used as it is."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self._own = session is None
        self.session = session if session is not None else make_session()
        self.watchdog = Watchdog()

    def send(
        self,
        url: str,
        *,
        webhook_id: str,
        body: bytes,
        signer: signing.Signer,
        timeout: float,
        now: Callable[[], float] = time.time,
    ) -> AttemptResult:
        """POST ``body`` to ``url`` signed afresh by ``signer`` (new ``webhook-timestamp``, same
        ``webhook-id``).

        Redirects are never followed (a 3xx is reported as such); every failure becomes an
        ``AttemptResult`` rather than an exception, so the outbox can always record it.
        """
        try:
            headers = signer.headers(webhook_id, body, timestamp=int(now()))
        except (ValueError, TypeError):
            return AttemptResult(
                None, "cannot sign: no valid secret or signing key for this issuer", None, 0.0)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        result = self.post(url, body, headers=headers, timeout=timeout)
        if result.error is None:
            return result
        return AttemptResult(result.status, signer.redact(result.error), result.retry_after,
                             result.elapsed_ms, result.timed_out)

    def post(
        self, url: str, body: bytes, *, headers: dict[str, str], timeout: float
    ) -> AttemptResult:
        """One POST of ``body`` to ``url`` (callbacks, alert channels) within ``timeout`` in
        all: redirects never followed (a 3xx is reported as such), at most
        ``MAX_ANSWER_BYTES`` of the answer read, every failure an ``AttemptResult``. The error
        text may name ``url``: a caller whose URL or body holds a secret redacts it."""
        started = time.perf_counter()

        def result(
            status: int | None, error: str | None, retry_after: str | None = None,
            timed_out: bool = False,
        ) -> AttemptResult:
            elapsed = (time.perf_counter() - started) * 1000.0
            return AttemptResult(status, error, retry_after, elapsed, timed_out)

        headers = {**headers, "Accept-Encoding": "identity"}  # the answer is drained, not decoded
        late = f"timeout: no complete answer within {timeout:g} s"
        with self.watchdog.watch(timeout) as attempt:
            try:
                response = self.session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                    stream=True,
                )
                try:
                    _drain(response)
                finally:
                    # Before the connection can go back to the pool for another attempt.
                    expired = attempt.finish()
                    response.close()
            except Exception as exc:
                if attempt.finish():  # the watchdog cut it off: that is the error to report
                    return result(None, late, timed_out=True)
                if isinstance(exc, requests.Timeout):
                    return result(None, f"timeout: {exc}", timed_out=True)
                # requests' errors, and anything else (bad URL parsing deep in urllib3...)
                return result(None, f"{type(exc).__name__}: {exc}")
        if expired:
            return result(None, late, timed_out=True)
        return result(response.status_code, None, response.headers.get("Retry-After"))

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._own:
            self.session.close()

    def __enter__(self) -> CallbackClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _drain(response: requests.Response) -> None:
    """Read the answer up to ``MAX_ANSWER_BYTES`` (undecoded): a whole small answer lets the
    connection be kept alive; a larger one is cut off by closing the connection."""
    read = 0
    for chunk in response.raw.stream(_CHUNK_BYTES, decode_content=False):
        read += len(chunk)
        if read >= MAX_ANSWER_BYTES:
            return
