"""A misbehaving HTTP endpoint on loopback, written on raw sockets: it reads a request and then
answers slowly (a byte every ``interval`` seconds, in the status/headers or in the body), not at
all, or with a huge body. It records when each connection opened and when the client closed it."""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Connection:
    opened: float  # time.monotonic()
    requests: int = 0
    closed: float | None = None  # when the client closed (or shut down) its side
    sent: int = 0  # answer bytes the kernel accepted


@dataclass
class SlowPeer:
    """``mode``: ``headers`` (``HTTP/1.1 200 OK`` then one header byte per ``interval``),
    ``body`` (complete headers, then one body byte per ``interval``), ``silent`` (never
    answers), ``huge`` (a 64 MiB body, as fast as the client takes it) or ``ok`` (a small
    complete keep-alive answer). Stops trickling after ``limit`` seconds, so that a client
    without a deadline still ends."""

    mode: str
    interval: float = 2.0
    limit: float = 30.0
    connections: list[Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> SlowPeer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            record = Connection(time.monotonic())
            self.connections.append(record)
            thread = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        with conn:
            try:
                while self._read_request(conn, record):
                    record.requests += 1
                    if not self._answer(conn, record):
                        break
            except OSError:
                pass
            if record.closed is None:
                record.closed = time.monotonic()

    def _read_request(self, conn: socket.socket, record: Connection) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            if not self._wait_readable(conn, record, 10.0):
                return False
            chunk = conn.recv(65536)
            if not chunk:
                record.closed = time.monotonic()
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            rest += chunk
        return True

    def _wait_readable(self, conn: socket.socket, record: Connection, seconds: float) -> bool:
        """Wait up to ``seconds`` for data; False once the client closed or we stop."""
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            if select.select([conn], [], [], min(0.05, seconds))[0]:
                return True
        return False

    def _client_closed(self, conn: socket.socket, record: Connection, seconds: float) -> bool:
        """Wait ``seconds`` watching for the client closing its side."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self._stop.is_set():
            if select.select([conn], [], [], 0.02)[0]:
                if not conn.recv(4096):
                    record.closed = time.monotonic()
                    return True
        return self._stop.is_set()

    def _send(self, conn: socket.socket, record: Connection, data: bytes) -> None:
        conn.sendall(data)
        record.sent += len(data)

    def _answer(self, conn: socket.socket, record: Connection) -> bool:
        """Answer one request; False when the connection is done."""
        until = time.monotonic() + self.limit
        if self.mode == "ok":
            self._send(conn, record, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            return True
        if self.mode == "silent":
            self._client_closed(conn, record, self.limit)
            return False
        if self.mode == "huge":
            self._send(conn, record, b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n")
            conn.settimeout(2.0)
            block = b"x" * 65536
            while record.sent < 64 * 1024 * 1024 and not self._stop.is_set():
                self._send(conn, record, block)
            return False
        if self.mode == "headers":
            self._send(conn, record, b"HTTP/1.1 200 OK\r\n")
            trickle = b"X-Slow: " + b"a" * 10_000
        else:
            self._send(conn, record, b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n")
            trickle = b"a" * 10_000
        for byte in trickle:
            if self._client_closed(conn, record, self.interval) or time.monotonic() > until:
                return False
            self._send(conn, record, bytes([byte]))
        return False
