"""A HashCheckService-compatible server on loopback: ``POST /v1/check/{md5|sha1}`` with a
text/plain hex body and Basic auth, answering ``true``/``false``, or, as a test sets it, an
error status, another body, or a slow answer."""

from __future__ import annotations

import base64
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .served import Served

USERNAME, PASSWORD = "example-hosting", "hashcheck-password-1234"


class HashCheckServer(Served):
    """``known`` holds lowercase hex hashes; ``fail_next`` answers that many requests with
    ``fail_status``; ``body`` replaces the answer; ``delay`` sleeps before answering."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = set(known or ())
        self.fail_next = 0
        self.fail_status = 503
        self.body: bytes | None = None
        self.delay = 0.0
        self.requests: list[tuple[str, str, str | None]] = []  # (path, body, content type)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                text = self.rfile.read(length).decode("ascii", "replace")
                server.requests.append((self.path, text, self.headers.get("Content-Type")))
                if server.delay:
                    time.sleep(server.delay)
                expected = "Basic " + base64.b64encode(
                    f"{USERNAME}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._answer(401, b"unauthorized")
                if server.fail_next > 0:
                    server.fail_next -= 1
                    return self._answer(server.fail_status, b"try later")
                algorithm = self.path.rsplit("/", 1)[-1]
                if not self.path.startswith("/api/v1/check/") or algorithm not in ("md5",
                                                                                    "sha1"):
                    return self._answer(404, b"not found")
                if server.body is not None:
                    return self._answer(200, server.body)
                return self._answer(200, b"true" if text in server.known else b"false")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/api"
        super().__init__(self.httpd)
