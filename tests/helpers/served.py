"""A standard-library server (``http.server``, werkzeug's) served from a thread and stopped
within 50 ms: ``serve_forever``'s default poll of half a second made every test that stops one
wait a quarter of a second on average."""

from __future__ import annotations

import socketserver
import threading
from typing import Self

#: How often the serving thread looks whether it is asked to stop.
POLL_SECONDS = 0.05


class Served:
    """``with`` it: served on entry; on exit (or ``close()``) stopped, its socket closed (a
    connection is refused afterwards) and its thread joined."""

    def __init__(self, server: socketserver.BaseServer) -> None:
        self._served = server
        self._thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,),
                                        daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop answering: afterwards a connection is refused."""
        if self._thread.is_alive():
            self._served.shutdown()
            self._thread.join(5)
        self._served.server_close()
