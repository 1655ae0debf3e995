"""The README's dashboard walk-through as a newcomer does it: `hoster-compliance serve` on the
demo configuration, the issuer simulator sends an order and waits, the newcomer logs in at /ui/
with the demo token, sees the order counting down, acts on it, and the simulator prints the
verified outcome."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from hoster_compliance.config import load_config
from tests.helpers.processes import Receiver, free_port

ROOT = Path(__file__).resolve().parents[2]


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def _act_in_the_dashboard(page: Page, url: str, token: str) -> None:
    page.goto(url + "/ui/")
    page.get_by_label("Operator token").fill(token)
    page.get_by_role("button", name="Log in").click()
    row = page.locator("tbody tr", has_text="sim-demo")
    expect(row).to_contain_text(re.compile(r"in 11 h 5\d min"))  # NL_ATKM: 12 h
    row.get_by_role("link").click()
    everything = page.locator("section.all-items form")
    everything.get_by_label("Action").select_option("removed")
    everything.get_by_role("button", name=re.compile("Record for all")).click()
    expect(page.locator(".state")).to_contain_text("status completed")


def test_serve_the_demo_act_in_the_dashboard_and_the_simulator_prints_the_outcome(
    new_page: Callable[..., Page], tmp_path: Path
) -> None:
    demo = (ROOT / "examples" / "demo.toml").read_text()
    demo = demo.replace("http://127.0.0.1:9100", f"http://127.0.0.1:{free_port()}")
    config = tmp_path / "demo.toml"
    config.write_text(demo)
    token = load_config(config).operator_tokens[0]
    with Receiver(config, free_port(), tmp_path / "serve.log") as receiver:
        seen: list[str] = []
        with subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "issuer_simulator.py"), "--config",
             str(config), "--receiver", receiver.url, "--order-id", "sim-demo",
             "--wait-outcome", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ) as simulator:
            output: queue.Queue[str] = queue.Queue()
            reader = threading.Thread(target=_lines, args=(simulator.stdout, output))
            reader.start()
            try:
                deadline = time.monotonic() + 30
                while not any("waiting up to" in line for line in seen):
                    seen.append(output.get(timeout=max(0.1, deadline - time.monotonic())))
                _act_in_the_dashboard(new_page(), receiver.url, token)
                assert simulator.wait(timeout=30) == 0
            finally:
                if simulator.poll() is None:
                    simulator.kill()
                reader.join(10)
            while not output.empty():
                seen.append(output.get())
    text = "".join(seen)
    assert "outcome received; signature verified" in text, text
    assert text.count('"action": "removed"') == 2, text
