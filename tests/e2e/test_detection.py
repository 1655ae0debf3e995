"""Own-initiative detection end to end (PROTOCOL 11), as a hoster runs it, on a real SQLite file
and PostgreSQL: a configuration with a hash list and the hash service (a real HTTP server on
loopback), ``hoster-compliance scan`` in its own process over a web root of real files with its
progress bar on a terminal (a pty), the entry's ``received`` alert delivered to a chat webhook
and its files quarantined by ``examples/auto_takedown.py`` (its own process), a false positive
put back and ``reinstated`` with ``hoster-compliance act``, a rescan that enters nothing again,
the five ``dsa-csv`` files whose Parts 5 and 8 count all of it, and ``examples/upload_check.py``
refusing the same files at upload."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hoster_compliance import ComplianceService, build_checker, load_config
from tests.helpers import ROOT, write_config_file
from tests.helpers.hashcheck import PASSWORD, USERNAME, HashCheckServer
from tests.helpers.hooks import HookSink
from tests.helpers.processes import CLI
from tests.helpers.terminal import run_on_a_terminal

PREFIX = "https://files.example-hosting.nl/"
LISTED = b"a file on the hoster's own list"
SERVICE_KNOWN = b"a file the hash service knows"
STOCK = "uploads/2026/blog header.jpg"  # the false positive: a stock image on the list
SERVICE = "users/42/clip.gif"
MEASURES = "Number of measures taken at the provider's own initiative "
CATEGORY = "Category of illegal content"
MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"


def load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hash_service() -> Iterator[HashCheckServer]:
    with HashCheckServer({hashlib.md5(SERVICE_KNOWN).hexdigest()}) as server:
        yield server


@pytest.fixture
def chat() -> Iterator[HookSink]:
    with HookSink() as sink:
        yield sink


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    for relative, content in ((STOCK, LISTED), (SERVICE, SERVICE_KNOWN),
                              ("users/42/holiday.jpg", b"a holiday photo"),
                              ("index.html", b"<h1>welcome</h1>")):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    return root


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, hash_service: HashCheckServer,
                chat: HookSink) -> str:
    (tmp_path / "known.txt").write_text(
        f"# known material\n{hashlib.sha256(LISTED).hexdigest()}\n")
    path = Path(write_config_file(tmp_path, db_url))
    path.write_text(path.read_text() + f'''
[hashcheck]
lists = ["known.txt"]
service_url = "{hash_service.url}"
username = "{USERNAME}"
password = "{PASSWORD}"
timeout_seconds = 5

[[alerts]]
name = "chat"
channel = "webhook"
url = "{chat.url}"
kinds = ["own_initiative"]
''')
    return str(path)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          timeout=300, check=False)


def scan_on_a_terminal(config_path: str, web_root: Path) -> tuple[int, str, str]:
    """``hoster-compliance scan`` with its stderr on a pseudo-terminal (where the progress bar
    is drawn); (exit status, stdout, what the terminal showed)."""
    return run_on_a_terminal([*CLI, "scan", "--config", config_path, "--web-root",
                              str(web_root), "--url-prefix", PREFIX])


def wait_until(check: Any, timeout: float, what: str) -> Any:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_hoster_scans_quarantines_reinstates_and_reports(
        config_path: str, web_root: Path, tmp_path: Path, hash_service: HashCheckServer,
        chat: HookSink) -> None:
    # 1. The scan: a progress bar on the terminal, two matches, one entry.
    status, out, terminal = scan_on_a_terminal(config_path, web_root)
    assert status == 1, out + terminal
    assert "scanning" in terminal and "4/4 files, 2 matches" in terminal, terminal
    assert "100%" in terminal and "#" in terminal, terminal  # the bar, drawn to its end
    assert f"match: {PREFIX}uploads/2026/blog%20header.jpg sha256:" in out
    assert f"match: {PREFIX}users/42/clip.gif md5:{hashlib.md5(SERVICE_KNOWN).hexdigest()}" in out
    assert "scanned 4 files" in out and "2 matched" in out
    [line] = [x for x in out.splitlines() if x.startswith("own-initiative entry self/")]
    entry_id = line.split()[2].removeprefix("self/").rstrip(":")
    assert line.endswith(", deadline " + line.split("deadline ")[1]) and ": 2 items," in line
    assert hashlib.md5(LISTED).hexdigest() not in str(hash_service.requests)  # list first

    listed = json.loads(run_cli("orders", "--config", config_path, "--json").stdout)
    [entry] = listed["orders"]
    assert (entry["issuer_id"], entry["order_id"], entry["kind"], entry["items_total"]) == (
        "self", entry_id, "own_initiative", 2)

    # 2. examples/auto_takedown.py, started after the scan: its delivery worker sends the
    # entry's `received` alert, its handler quarantines both files and records `disabled`.
    quarantine = tmp_path / "quarantine"
    takedown = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "auto_takedown.py"), "--config", config_path,
         "--url-prefix", PREFIX, "--web-root", str(web_root), "--quarantine", str(quarantine)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    service = ComplianceService(load_config(config_path))
    try:
        def disabled() -> bool:
            items = service.get_order("self", entry_id)["items"]
            return all(i["action"] == "disabled" for i in items)

        wait_until(disabled, 120, "the automation to quarantine both files")
        posts = chat.wait_for(lambda p: len(p) >= 1, timeout=60)
    finally:
        takedown.send_signal(signal.SIGTERM)
        try:
            _, errors = takedown.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            takedown.kill()
            _, errors = takedown.communicate()
    assert takedown.returncode == 0, errors
    assert "Traceback" not in errors
    [alert] = [p.body for p in posts]
    assert alert["text"].startswith(f"[example-hosting] received: OTHER own_initiative "
                                    f"self/{entry_id}, deadline ")
    assert alert["hoster_compliance"]["kind"] == "own_initiative"
    assert "files.example-hosting.nl" not in json.dumps(alert)  # no URL in a chat log
    detail = service.get_order("self", entry_id)
    assert detail["deliveries"] == []  # nobody to call back
    assert [(i["action"], i["automated"]) for i in detail["items"]] == [("disabled", True)] * 2
    assert not (web_root / STOCK).exists() and not (web_root / SERVICE).exists()
    example = load_example("auto_takedown")
    held = {i["url"]: example.quarantine_folder(quarantine, "self", entry_id, i["item_id"])
            for i in detail["items"]}
    stock_url = PREFIX + "uploads/2026/blog%20header.jpg"
    assert (held[stock_url] / "content").read_bytes() == LISTED  # kept, not deleted

    # 3. The stock image was a false positive: put it back and record `reinstated`.
    stock_item = next(i["item_id"] for i in detail["items"] if i["url"] == stock_url)
    shutil.move(held[stock_url] / "content", web_root / STOCK)
    acted = run_cli("act", "--config", config_path, "self", entry_id, stock_item, "reinstated",
                    "--reason", "stock image from a WordPress theme, not illegal")
    assert acted.returncode == 0, acted.stdout + acted.stderr
    after = {i["item_id"]: i for i in service.get_order("self", entry_id)["items"]}
    assert after[stock_item]["action"] == "reinstated"
    assert service.verify_audit().intact
    service.engine.dispose()

    # 4. The nightly rescan finds the reinstated file again but does not enter it twice.
    again = run_cli("scan", "--config", config_path, "--web-root", str(web_root),
                    "--url-prefix", PREFIX)
    assert again.returncode == 1 and "nothing new to enter (1 already entered)" in again.stdout, (
        again.stdout + again.stderr)

    # 5. The transparency report: five Commission files; Parts 5 and 8 count what happened.
    year = datetime.now(UTC).year
    out_dir = tmp_path / "dsa"
    report = run_cli("report", "--config", config_path, "--start", f"{year}-01-01", "--end",
                     f"{year}-12-31", "--format", "dsa-csv", "--out", str(out_dir))
    assert report.returncode == 0, report.stdout + report.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "Part_1_summary.csv", "Part_3_member_states_orders.csv", "Part_4_notices.csv",
        "Part_5_own_initiative_illegal.csv", "Part_8_automated_means.csv"]
    part_5 = {r[CATEGORY]: r for r in csv.DictReader(io.StringIO(
        (out_dir / "Part_5_own_initiative_illegal.csv").read_text(encoding="utf-8")))}
    for code in ("TOTAL", MINORS, "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"):
        assert part_5[code][MEASURES] == "2", part_5[code]
        assert part_5[code]["Visibility restriction Disable"] == "2"
        assert part_5[code]["Visibility restriction Removal"] == "0"
    assert "1 of them were later reinstated" in part_5["TOTAL"][
        "Contextual Information on " + MEASURES]
    part_8 = {(r["Indicator"].strip(), r["Scope"].strip()): r for r in csv.DictReader(
        io.StringIO((out_dir / "Part_8_automated_means.csv").read_text(encoding="utf-8")))}
    own = "Own-initiative"
    assert part_8[("Number of measures solely taken by automated means", own)]["Value"] == "2"
    assert part_8[("Number of measures not taken by automated means", own)]["Value"] == "0"
    assert part_8[("Accuracy of the automated means - Accuracy", own)]["Value"] == "0.5000"

    # 6. At upload, examples/upload_check.py refuses both known files before storing them.
    store = tmp_path / "store"
    store.mkdir()
    checker = build_checker(load_config(config_path))
    client = load_example("upload_check").create_upload_app(checker, store).test_client()
    for content in (LISTED, SERVICE_KNOWN):
        refused = client.post("/upload", data={"file": (io.BytesIO(content), "x.jpg")},
                              content_type="multipart/form-data")
        assert refused.status_code == 403
    assert list(store.iterdir()) == []
    accepted = client.post("/upload", data={"file": (io.BytesIO(b"new photo"), "y.jpg")},
                           content_type="multipart/form-data")
    assert accepted.status_code == 201 and len(list(store.iterdir())) == 1
    checker.close()
