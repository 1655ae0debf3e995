"""Text from outside in a log line (PROTOCOL 13.2): every log call that carries something an
issuer, a client or a peer sent (an issuer id from a URL, a path, an error message quoting
input) passes it through :func:`safe`, so that a newline cannot forge a log line, a NUL cannot
cut one, and a terminal escape or a bidirectional override cannot disguise one."""

from __future__ import annotations

import re

#: Control characters (C0, DEL, C1), line and paragraph separators, zero-width and
#: bidirectional formatting characters, the byte-order mark; and the backslash, so that an
#: escape written here can never be confused with one that was sent.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\\\\]")
#: Longer text is cut: one request must not write megabytes into the log.
MAX_CHARS = 512


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` (anything; ``str()`` is taken) with unsafe characters escaped as ``\\xNN`` or
    ``\\uNNNN``, cut after ``limit`` characters with a note of how many were left out."""
    value = text if isinstance(text, str) else str(text)
    extra = len(value) - limit
    if extra > 0:
        value = value[:limit]
    escaped = _UNSAFE.sub(_escape, value)
    return f"{escaped}...(+{extra} chars)" if extra > 0 else escaped
