"""A real HTTP endpoint on loopback that keeps every JSON POST it gets: stands in for a Slack or
Mattermost incoming webhook, or PagerDuty's Events API, in tests and the benchmark."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HookSink:
    """``with HookSink(status=202) as hook:`` POSTs to ``hook.url`` (any path) are kept in
    ``hook.posts`` as (path, headers, parsed JSON, monotonic arrival time). ``statuses`` answers
    the next requests with these statuses first (then ``status``)."""

    def __init__(self, status: int = 200, path: str = "/hooks/T000/B000/SECRETtoken") -> None:
        self.status = status
        self.statuses: list[int] = []
        self.posts: list[tuple[str, dict[str, str], Any, float]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with sink.lock:
                    status = sink.statuses.pop(0) if sink.statuses else sink.status
                    sink.posts.append((self.path, dict(self.headers), json.loads(raw),
                                       time.monotonic()))
                    sink.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> HookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop answering: afterwards a connection is refused."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(5)
        self.server.server_close()

    @property
    def bodies(self) -> list[Any]:
        with self.lock:
            return [body for _, _, body, _ in self.posts]

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        """Wait (bounded) until ``count`` POSTs arrived; returns the bodies so far."""
        ends = time.monotonic() + timeout
        with self.lock:
            while len(self.posts) < count and time.monotonic() < ends:
                self.arrived.wait(max(ends - time.monotonic(), 0.01))
            return [body for _, _, body, _ in self.posts]
