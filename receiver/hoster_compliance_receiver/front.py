"""The HTTP front of ``hoster-compliance serve`` (PROTOCOL 13.1): gunicorn's arbiter keeps the
worker processes (forking, respawning, graceful stop, the ``worker_exit`` hook) and each worker
process serves with waitress, whose event loop reads every request whole, headers and body,
before a request thread sees it. A slow or silent socket costs the event loop a file descriptor,
never a request thread; so a few hundred of them cannot hold the threads that answer orders.

On top of waitress, a request's headers must be complete within ``HEADER_SECONDS`` of its first
byte, and a connection that sends or takes nothing for ``IDLE_SECONDS`` (a stalled body, an idle
keep-alive, a client not reading its answer) is dropped. Errors the front answers itself (a body
over the limit, a malformed request) have PROTOCOL 2.3's JSON body."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from typing import Any

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from hoster_compliance.logtext import safe

#: A request's headers must be complete this long after its first byte (13.1).
HEADER_SECONDS = 10.0
#: A connection with no byte in either direction for this long is dropped (13.1: a stalled body).
IDLE_SECONDS = 10
#: Open connections per process beyond which the front stops accepting until some close.
CONNECTION_LIMIT = 1000
MAX_HEADER_BYTES = 64 * 1024

log = logging.getLogger("hoster_compliance.front")
access_log = logging.getLogger("hoster_compliance.access")


class JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """The answer to a request the front refused (too large, malformed): PROTOCOL 2.3's body."""

    def execute(self) -> None:
        error = self.request.error
        code = "payload_too_large" if error.code == 413 else "bad_request"
        body = json.dumps({"error": code, "message": error.reason + "."}).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class BoundedChannel(HTTPChannel):  # type: ignore[misc]
    """A connection whose request headers have a deadline."""

    error_task_class = JsonErrorTask
    header_deadline: float | None = None

    def received(self, data: bytes) -> bool:
        result: bool = super().received(data)
        partial = self.request
        if partial is None or partial.headers_finished:
            self.header_deadline = None
        elif self.header_deadline is None:
            self.header_deadline = time.monotonic() + HEADER_SECONDS
        return result


class BoundedServer(TcpWSGIServer):  # type: ignore[misc]
    """Waitress's server on an inherited listening socket, with :class:`BoundedChannel`."""

    channel_class = BoundedChannel

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections (IDLE_SECONDS)
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            deadline = getattr(channel, "header_deadline", None)
            if deadline is not None and mono >= deadline:
                channel.will_close = True

    def busy(self) -> bool:
        """Whether a request is being served or an answer is still being sent."""
        return any(channel.requests or channel.total_outbufs_len
                   for channel in self.active_channels.values())


def adjustments(threads: int, max_body_bytes: int) -> Adjustments:
    """Waitress's settings for one worker process."""
    return Adjustments(
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_SECONDS,
        cleanup_interval=1,  # how often the deadlines are checked
        asyncore_use_poll=True,  # select() cannot watch descriptors past 1024
        asyncore_loop_timeout=1,
        max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=max_body_bytes,
        # the application decides which forwarded headers to trust (notices' trusted_proxy_hops)
        clear_untrusted_proxy_headers=False,
        ident="hoster-compliance",
    )


def with_access_log(app: Any) -> Any:
    """One log line per answered request; the path is outside text, written escaped."""

    def logged(environ: dict[str, Any], start_response: Any) -> Any:
        started = time.monotonic()

        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            access_log.info('%s "%s %s" %s %.1f ms', environ.get("REMOTE_ADDR", "-"),
                            safe(environ.get("REQUEST_METHOD", "")),
                            safe(environ.get("PATH_INFO", "")), status.split(" ", 1)[0],
                            (time.monotonic() - started) * 1000)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def _raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class WaitressWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker process that serves its listening sockets with waitress; a request
    body over ``max_body_bytes`` is refused (413) before it is read whole."""

    max_body_bytes = 1024 * 1024

    @classmethod
    def limited_to(cls, max_body_bytes: int) -> type[WaitressWorker]:
        """This worker class with another body limit (``serve`` passes the configuration's)."""
        return type(cls.__name__, (cls,), {"max_body_bytes": max_body_bytes})

    def run(self) -> None:
        _raise_file_limit(CONNECTION_LIMIT * 2 + 256)
        adj = adjustments(self.cfg.threads, self.max_body_bytes)
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        socket_map: dict[int, Any] = {}
        app = with_access_log(self.wsgi)
        servers = [
            BoundedServer(app, socket_map, _start=True, _sock=listener.sock,
                          dispatcher=dispatcher, adj=adj, bind_socket=False,
                          sockinfo=(listener.sock.family, listener.sock.type,
                                    listener.sock.proto, listener.sock.getsockname()))
            for listener in self.sockets
        ]
        # waitress warns at every request that waits for a thread ("Task queue depth is N"):
        # under load, a line per request that says nothing the access log's times do not.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        next_beat = 0.0
        while self.alive:
            now = time.monotonic()
            if now >= next_beat:  # the arbiter's heartbeat, once a second is plenty
                next_beat = now + 1.0
                self.notify()
                if self.ppid != os.getppid():  # the arbiter is gone
                    log.info("parent changed; stopping")
                    break
            wasyncore.loop(timeout=adj.asyncore_loop_timeout, map=socket_map,
                           use_poll=True, count=1)
        self._drain(servers, socket_map, dispatcher)

    def _drain(self, servers: list[BoundedServer], socket_map: dict[int, Any],
               dispatcher: ThreadedTaskDispatcher) -> None:
        """Graceful stop: accept nothing more, finish the requests under way (at most
        ``graceful_timeout``), then close every connection."""
        for server in servers:
            server.accepting = False
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while any(server.busy() for server in servers) and time.monotonic() < deadline:
            self.notify()
            wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
        dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(socket_map)
