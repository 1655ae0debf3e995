"""The README's quick start as a newcomer runs it: `hoster-compliance serve` on the demo
configuration (SQLite), then examples/issuer_simulator.py: a 201 and a verified acknowledgement;
and the same from a file `hoster-compliance init` wrote."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT
from tests.helpers.processes import CLI, Receiver, free_port


def test_demo_receiver_and_simulator(tmp_path: Path) -> None:
    callback_port = free_port()
    demo = (ROOT / "examples" / "demo.toml").read_text()
    # The same demo file, with ports that are free on this machine and the database in tmp_path.
    demo = demo.replace("http://127.0.0.1:9100", f"http://127.0.0.1:{callback_port}")
    config = tmp_path / "demo.toml"
    config.write_text(demo)
    simulate_against(config, tmp_path)
    assert (tmp_path / "demo.db").exists()  # relative SQLite path: next to the configuration


def test_init_then_receiver_and_simulator(tmp_path: Path) -> None:
    made = subprocess.run([*CLI, "init", "--dir", str(tmp_path / "site")],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    config = tmp_path / "site" / "hoster.toml"
    # The simulator's port (the example issuer's api_base) may be taken on this machine.
    assert "http://127.0.0.1:9100" in config.read_text()
    text = config.read_text().replace("http://127.0.0.1:9100", f"http://127.0.0.1:{free_port()}")
    config.write_text(text)
    simulate_against(config, tmp_path)
    assert (tmp_path / "site" / "compliance.db").exists()


def simulate_against(config: Path, tmp_path: Path) -> None:
    """Serve ``config`` and play its first issuer: a 201 and a verified acknowledgement."""
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
