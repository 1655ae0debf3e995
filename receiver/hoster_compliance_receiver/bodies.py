"""Reading request bodies with a bound (PROTOCOL 2.3, 13.2): never more than one byte past the
limit, whatever the client declared and however the server hands the body over (a stream may
return less than asked for at a time)."""

from __future__ import annotations

from flask import request


def read_body(limit: int) -> bytes:
    """The request body, or its first ``limit + 1`` bytes when it is longer (the caller
    answers 413 for that)."""
    stream = request.stream
    parts: list[bytes] = []
    wanted = limit + 1
    while wanted > 0:
        chunk = stream.read(wanted)
        if not chunk:
            break
        parts.append(chunk)
        wanted -= len(chunk)
    return b"".join(parts)
