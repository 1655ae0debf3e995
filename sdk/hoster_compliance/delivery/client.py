"""Outbound callbacks, hoster -> issuer (PROTOCOL 3): one signed POST per attempt, never raising.

Retry policy lives in the outbox; this module only makes one attempt and reports what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ..protocol import signing

USER_AGENT = "hoster-compliance-callbacks/1"


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt got: an HTTP status, or ``status=None`` and a transport ``error``."""

    status: int | None
    error: str | None
    retry_after: str | None
    elapsed_ms: float


class CallbackClient:
    """Sends signed callbacks over a ``requests.Session`` (keep-alive, shared pool)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self._own = session is None
        self.session = session if session is not None else requests.Session()

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
        started = time.perf_counter()

        def result(
            status: int | None, error: str | None, retry_after: str | None = None
        ) -> AttemptResult:
            elapsed = (time.perf_counter() - started) * 1000.0
            return AttemptResult(status, error, retry_after, elapsed)

        try:
            headers = signer.headers(webhook_id, body, timestamp=int(now()))
        except (ValueError, TypeError):
            return result(None, "cannot sign: no valid secret or signing key for this issuer")
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        try:
            # stream=True: the issuer's answer body is never needed, so it is never read.
            with self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                return result(response.status_code, None, response.headers.get("Retry-After"))
        except requests.Timeout as exc:
            return result(None, signer.redact(f"timeout: {exc}"))
        except requests.RequestException as exc:
            return result(None, signer.redact(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # anything else (bad URL parsing deep in urllib3...) is recorded
            return result(None, signer.redact(f"{type(exc).__name__}: {exc}"))

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._own:
            self.session.close()

    def __enter__(self) -> CallbackClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
