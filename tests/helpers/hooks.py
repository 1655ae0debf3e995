"""A real HTTP endpoint on loopback that keeps every JSON POST it gets: stands in for a Slack or
Mattermost incoming webhook, or PagerDuty's Events API, in tests and the benchmark."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .served import Served


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival
    status: int  # what the sink answered


class HookSink(Served):
    """``with HookSink(status=202) as hook:`` POSTs to ``hook.url`` (any path) are kept in
    ``hook.posts``. ``statuses`` answers the next requests with these statuses first (then
    ``status``); ``retry_after`` is sent with every answer when set."""

    def __init__(self, status: int = 200, path: str = "/hooks/T000/B000/SECRETtoken") -> None:
        self.status = status
        self.statuses: list[int] = []
        self.retry_after: str | None = None
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with sink.lock:
                    status = sink.statuses.pop(0) if sink.statuses else sink.status
                    sink.posts.append(Post(self.path, dict(self.headers), json.loads(raw),
                                           time.monotonic(), status))
                    sink.arrived.notify_all()
                    retry_after = sink.retry_after
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        super().__init__(self.server)

    @property
    def bodies(self) -> list[Any]:
        with self.lock:
            return [post.body for post in self.posts]

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        """Wait (bounded) until ``count`` POSTs arrived; returns the bodies so far."""
        ends = time.monotonic() + timeout
        with self.lock:
            while len(self.posts) < count and time.monotonic() < ends:
                self.arrived.wait(max(ends - time.monotonic(), 0.01))
            return [post.body for post in self.posts]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Post]:
        """Wait (bounded) until ``predicate(posts)`` holds; returns the posts so far."""
        ends = time.monotonic() + timeout
        with self.lock:
            while not predicate(self.posts) and time.monotonic() < ends:
                self.arrived.wait(max(min(ends - time.monotonic(), 0.2), 0.01))
            return list(self.posts)
