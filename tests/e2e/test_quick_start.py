"""The README's quick start as a newcomer runs it: `hoster-compliance serve` on the demo
configuration (SQLite), then examples/issuer_simulator.py: a 201 and a verified acknowledgement."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import Receiver, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_demo_receiver_and_simulator(tmp_path: Path) -> None:
    callback_port = free_port()
    demo = (ROOT / "examples" / "demo.toml").read_text()
    # The same demo file, with ports that are free on this machine and the database in tmp_path.
    demo = demo.replace("http://127.0.0.1:9100", f"http://127.0.0.1:{callback_port}")
    config = tmp_path / "demo.toml"
    config.write_text(demo)
    with Receiver(config, free_port(), tmp_path / "serve.log") as receiver:
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "issuer_simulator.py"),
             "--config", str(config), "--receiver", receiver.url],
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HTTP 201" in result.stdout
    assert re.search(r"acknowledgement received \d+ ms after the 2xx; signature verified",
                     result.stdout)
    assert (tmp_path / "demo.db").exists()  # relative SQLite path: next to the configuration
