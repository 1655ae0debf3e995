"""Slow and silent HTTP clients on loopback (PROTOCOL 13.1), for the reliability test and the
slow-client benchmark: connections that send a request's headers a byte at a time, send whole
headers and then the body a byte at a time, or send nothing at all. One thread drives them all
through a selector; when the server drops one, the time is recorded and, unless told otherwise,
a new one is opened in its place, as an attacker would keep the pressure on."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

#: What each kind of connection sends, a byte at a time after the prefix.
HEADER_TRICKLE = (b"POST /v1/webhooks/nl-atkm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  + b"".join(b"X-Pad-%d: %s\r\n" % (n, b"x" * 40) for n in range(200)))
BODY_HEADERS = (b"POST /v1/webhooks/nl-atkm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
KINDS = ("headers", "body", "silent")


@dataclass
class Conn:
    kind: str
    sock: socket.socket
    opened: float
    sent: int = 0
    first_sent: float | None = None
    last_sent: float | None = None
    closed: float | None = None

    @property
    def payload(self) -> bytes:
        return HEADER_TRICKLE if self.kind == "headers" else b"{" + b" " * 99_999

    def open_for(self, now: float) -> float:
        return (self.closed or now) - self.opened

    def quiet_for(self) -> float:
        """From the last byte sent (or the opening) to the close: how long the server waited."""
        assert self.closed is not None
        return self.closed - (self.last_sent or self.opened)

    def since_first_byte(self) -> float:
        """From the first byte sent (or the opening) to the close."""
        assert self.closed is not None
        return self.closed - (self.first_sent or self.opened)


@dataclass
class SlowClients:
    """``count`` connections to ``host:port``, kinds in turn (headers, body, silent); every
    ``interval`` seconds each trickling one sends its next byte. ``stall_body_after`` bytes of
    body, the body connections stop sending (a stalled body)."""

    host: str
    port: int
    count: int = 200
    interval: float = 1.0
    reconnect: bool = True
    stall_body_after: int | None = None
    conns: list[Conn] = field(default_factory=list)
    dropped: list[Conn] = field(default_factory=list)
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _open(self, kind: str) -> Conn | None:
        sock = socket.socket()
        sock.settimeout(2)
        try:
            sock.connect((self.host, self.port))
            if kind == "body":
                sock.sendall(BODY_HEADERS)
        except OSError:
            sock.close()
            self.refused += 1
            return None
        sock.setblocking(False)
        return Conn(kind, sock, time.monotonic())

    def start(self) -> SlowClients:
        for n in range(self.count):
            conn = self._open(KINDS[n % len(KINDS)])
            if conn is not None:
                self.conns.append(conn)
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()
        return self

    def open_count(self) -> int:
        with self._lock:
            return sum(1 for conn in self.conns if conn.closed is None)

    def _drop(self, conn: Conn, now: float) -> None:
        conn.closed = now
        conn.sock.close()
        with self._lock:
            self.conns.remove(conn)
            self.dropped.append(conn)
            if self.reconnect and not self._stop.is_set():
                fresh = self._open(conn.kind)
                if fresh is not None:
                    self.conns.append(fresh)

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                live = list(self.conns)
            for conn in live:  # has the server closed it (EOF, reset, or an error answer)?
                try:
                    if conn.sock.recv(4096, socket.MSG_PEEK) is not None:
                        self._drop(conn, now)
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    self._drop(conn, now)
                    continue
            if now >= next_tick:
                next_tick = now + self.interval
                for conn in live:
                    if conn.closed is not None or conn.kind == "silent":
                        continue
                    if conn.kind == "body" and self.stall_body_after is not None \
                            and conn.sent >= self.stall_body_after:
                        continue
                    if conn.sent >= len(conn.payload):
                        continue
                    try:
                        conn.sock.send(conn.payload[conn.sent:conn.sent + 1])
                        conn.sent += 1
                        conn.last_sent = now
                        conn.first_sent = conn.first_sent or now
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._drop(conn, now)
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for conn in self.conns:
                conn.sock.close()

    def __enter__(self) -> SlowClients:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
