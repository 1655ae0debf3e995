"""A client for HashCheckService-compatible APIs (PROTOCOL 11.1): ``POST
{service_url}/v1/check/{md5|sha1}`` with the lowercase hex hash as ``text/plain`` and HTTP Basic
auth; the answer is ``true`` or ``false``.

It fails closed: an error status, any other body, a redirect or a timeout (after retries) raises
``HashCheckError``; nothing but ``false`` is ever taken as "not known"."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests

from ..delivery import retry_policy
from ..delivery.deadline import make_session

#: The algorithms the service checks.
SERVICE_ALGORITHMS = ("md5", "sha1")
#: Answers are read up to this many bytes (PROTOCOL 13.1); the rest is ignored.
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "hoster-compliance-hashcheck/1"
_HEX_LENGTH = {"md5": 32, "sha1": 40}


class HashCheckError(Exception):
    """A check that could not be done; never to be read as "not known". The message names what
    happened and never holds the password."""


class HashCheckClient:
    """One service endpoint. ``attempts`` tries per check on network errors, timeouts, 408, 425,
    429 and 5xx, waiting ``backoff`` seconds times 2**n (or ``Retry-After``, capped at
    ``max_wait``) in between; ``sleep`` is injected for tests."""

    def __init__(
        self,
        service_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.service_url = service_url.rstrip("/")
        self._auth = (username, password or "") if username is not None else None
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._uniform = uniform
        # Never credentials, proxies or CA bundles from the environment, nor a TLS key log
        # (PROTOCOL 13.1).
        self.session = session if session is not None else make_session()
        self.session.trust_env = False

    def __repr__(self) -> str:
        return f"HashCheckClient({self.service_url!r})"

    def is_known(self, algorithm: str, hex_value: str) -> bool:
        """True when the service knows this hash, False when it answers ``false``; raises
        ``HashCheckError`` on anything else."""
        value = hex_value.lower()
        if algorithm not in _HEX_LENGTH:
            raise ValueError(f"the service checks md5 or sha1, not {algorithm}")
        if len(value) != _HEX_LENGTH[algorithm] or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(f"not a hex {algorithm}")
        url = f"{self.service_url}/v1/check/{algorithm}"
        problem = ""
        for attempt in range(1, self.attempts + 1):
            status, body, retry_after, problem = self._attempt(url, value)
            if status is not None and 200 <= status < 300:
                answer = body.strip()
                if answer == b"true":
                    return True
                if answer == b"false":
                    return False
                raise HashCheckError(f"the hash service answered {status} with a body that is "
                                     "neither true nor false")
            if status is not None and retry_policy.classify(status) != retry_policy.RETRY:
                raise HashCheckError(f"the hash service answered {status}")
            if status is not None and 300 <= status < 400:
                raise HashCheckError(f"the hash service answered a redirect ({status})")
            if attempt < self.attempts:
                self._sleep(self._delay(attempt, retry_after))
        raise HashCheckError(f"the hash service failed {self.attempts} times; last: {problem}")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        told = retry_policy.parse_retry_after(retry_after, datetime.now(UTC))
        if told is not None:
            return min(told, self.max_wait)
        return min(self._uniform(0.0, self.backoff * 2 ** (attempt - 1)), self.max_wait)

    def _attempt(self, url: str, value: str) -> tuple[int | None, bytes, str | None, str]:
        try:
            with self.session.post(
                url, data=value.encode("ascii"), auth=self._auth, timeout=self.timeout,
                headers={"Content-Type": "text/plain", "User-Agent": USER_AGENT,
                         "Accept": "text/plain"},
                allow_redirects=False, stream=True,
            ) as response:
                body = response.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
                status = response.status_code
                return status, body, response.headers.get("Retry-After"), f"status {status}"
        except requests.Timeout:
            return None, b"", None, "timeout"
        except requests.RequestException as exc:
            return None, b"", None, type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - urllib3 internals; recorded, never raised
            return None, b"", None, type(exc).__name__

    def close(self) -> None:
        self.session.close()
