"""Running a command with its stderr on a pseudo-terminal (where a progress bar is drawn)."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from collections.abc import Sequence


def run_on_a_terminal(command: Sequence[str], *, timeout: float = 300) -> tuple[int, str, str]:
    """Run ``command`` with stderr on a pty 120 columns wide; (exit status, stdout, what the
    terminal showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=follower,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, COLUMNS="120"))
    os.close(follower)
    shown = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=timeout)
    reader.join(30)
    os.close(leader)
    return proc.returncode, out.decode("utf-8"), shown.decode("utf-8", "replace")
