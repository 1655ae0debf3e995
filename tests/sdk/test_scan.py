"""``hoster-compliance scan`` over a real web root (links out of it, empty and large files,
names with spaces and non-ASCII), real lists, the loopback hash service and both databases:
one entry per scan, rescans add nothing twice, exit 0/1/2, what was found kept on a failure."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hoster_compliance.cli import cli
from hoster_compliance.detection.scan import ScanUsageError, url_for, walk
from hoster_compliance.store.engine import make_engine
from hoster_compliance.store.tables import deliveries, items, orders
from tests.helpers import write_config_file
from tests.helpers.hashcheck import PASSWORD, USERNAME, HashCheckServer
from tests.helpers.processes import CLI
from tests.helpers.terminal import run_on_a_terminal
from tests.helpers.unprivileged import run_bound_by_modes, without_override

PREFIX = "https://files.example-hosting.nl/"
LISTED = b"listed in known.txt"
SERVICE_KNOWN = b"known to the service"
LARGE = os.urandom(3 * 1024 * 1024 + 17)  # several reads of the 1 MiB buffer


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database without tables: a dry run must not even create them."""
    return empty_db_url


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "user 1" / "photos").mkdir(parents=True)
    (root / "user 1" / "photos" / "zee bij Noordwijk é.jpg").write_bytes(LISTED)
    (root / "user 1" / "large.bin").write_bytes(LARGE)
    (root / "empty").write_bytes(b"")
    (root / "ünï" ).mkdir()
    (root / "ünï" / "ok.txt").write_bytes(b"harmless")
    (root / "service.gif").write_bytes(SERVICE_KNOWN)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(LISTED)  # known, but outside the root
    (root / "out-link").symlink_to(outside / "secret.txt")
    (root / "out-dir").symlink_to(outside, target_is_directory=True)
    (root / "in-link.gif").symlink_to(root / "service.gif")
    (root / "dangling").symlink_to(tmp_path / "nothing")
    os.mkfifo(root / "fifo")  # never opened: reading it would block
    return root


def test_walk_stays_inside_the_root(web_root: Path) -> None:
    tree = walk(str(web_root))
    assert [f.relative for f in tree.files] == [
        "empty", "in-link.gif", "service.gif", "user 1/large.bin",
        "user 1/photos/zee bij Noordwijk é.jpg", "ünï/ok.txt"]
    assert tree.skipped_links == 3  # out-link, out-dir, dangling
    assert tree.bytes == len(LISTED) + len(LARGE) + 8 + 2 * len(SERVICE_KNOWN)
    assert [f.relative for f in walk(str(web_root), ["user 1/photos"]).files] == [
        "user 1/photos/zee bij Noordwijk é.jpg"]
    for outside in ["../outside", "out-dir", str(web_root.parent)]:
        with pytest.raises(ScanUsageError, match="not inside the web root"):
            walk(str(web_root), [outside])


def test_urls_are_percent_encoded() -> None:
    assert url_for(PREFIX, "user 1/ü#?.jpg") == PREFIX + "user%201/%C3%BC%23%3F.jpg"
    assert url_for("https://x.example/files", "a") == "https://x.example/files/a"


@pytest.fixture
def hash_service() -> Iterator[HashCheckServer]:
    with HashCheckServer({hashlib.md5(SERVICE_KNOWN).hexdigest()}) as server:
        yield server


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, hash_service: HashCheckServer) -> str:
    (tmp_path / "known.txt").write_text(f"# test list\n{hashlib.sha256(LISTED).hexdigest()}\n"
                                        f"{hashlib.sha1(b'elsewhere').hexdigest()}\n")
    path = Path(write_config_file(tmp_path, db_url))
    path.write_text(path.read_text() + f'''
[hashcheck]
lists = ["known.txt"]
service_url = "{hash_service.url}"
username = "{USERNAME}"
password = "{PASSWORD}"
timeout_seconds = 2
''')
    return str(path)


def scan(config_path: str, web_root: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["scan", "--config", config_path, "--web-root", str(web_root),
                                    "--url-prefix", PREFIX, *extra])


def entries(db_url: str) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        found = []
        for order in conn.execute(sa.select(orders).order_by(orders.c.id)):
            rows = conn.execute(sa.select(items).where(items.c.order_pk == order.id)
                                .order_by(items.c.position)).all()
            found.append({"order": order, "items": rows, "deliveries": conn.execute(
                sa.select(deliveries).where(deliveries.c.order_pk == order.id)).all()})
    engine.dispose()
    return found


def test_scan_enters_matches_once(config_path: str, web_root: Path, db_url: str,
                                  hash_service: HashCheckServer) -> None:
    result = scan(config_path, web_root)
    assert result.exit_code == 1, result.output
    assert "6 files" in result.output and "3 links not followed" in result.output, result.output
    [entry] = entries(db_url)
    order = entry["order"]
    assert (order.issuer_id, order.kind, order.regime, order.status) == (
        "self", "own_initiative", "OTHER", "open")
    assert order.category == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert order.subcategory == "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    assert order.deadline - order.received_at == 3600 * 1_000_000
    assert order.automation_state == "pending"  # automation handlers will run for it
    assert entry["deliveries"] == []  # no issuer: no acknowledgement
    got = [(i.url, i.content_hash_algorithm, i.content_hash_value, i.note)
           for i in entry["items"]]
    assert got == [
        (PREFIX + "in-link.gif", "md5", hashlib.md5(SERVICE_KNOWN).hexdigest(),
         "the hash service"),
        (PREFIX + "service.gif", "md5", hashlib.md5(SERVICE_KNOWN).hexdigest(),
         "the hash service"),
        (PREFIX + "user%201/photos/zee%20bij%20Noordwijk%20%C3%A9.jpg", "sha256",
         hashlib.sha256(LISTED).hexdigest(), f"hash list {Path(config_path).parent}/known.txt"),
    ]
    assert "outside" not in result.output
    # The list is checked before the service: the listed file never reaches it.
    assert hashlib.md5(LISTED).hexdigest() not in [body for _, body, _ in hash_service.requests]

    again = scan(config_path, web_root)
    assert again.exit_code == 1 and "nothing new to enter (3 already entered)" in again.output
    assert len(entries(db_url)) == 1

    # A new match and a changed file (in-link.gif shows it too): one new entry with just those.
    (web_root / "ünï" / "new.jpg").write_bytes(LISTED)
    (web_root / "service.gif").write_bytes(LISTED)
    third = scan(config_path, web_root)
    assert third.exit_code == 1
    assert [i.url.rsplit("/", 1)[-1] for i in entries(db_url)[-1]["items"]] == [
        "in-link.gif", "service.gif", "new.jpg"]


def test_nothing_known_exits_0(config_path: str, web_root: Path, db_url: str) -> None:
    result = scan(config_path, web_root, "ünï")
    assert result.exit_code == 0, result.output
    assert "1 files" in result.output and entries(db_url) == []


def test_dry_run_enters_nothing(config_path: str, web_root: Path, db_url: str) -> None:
    result = scan(config_path, web_root, "--dry-run")
    assert result.exit_code == 1 and result.output.count("match: ") == 3
    engine = make_engine(db_url)
    assert not sa.inspect(engine).has_table("orders")  # not even opened
    engine.dispose()


def test_a_failed_check_stops_with_2_and_keeps_what_was_found(
        config_path: str, web_root: Path, db_url: str, hash_service: HashCheckServer) -> None:
    hash_service.fail_next, hash_service.fail_status = 10**6, 500
    # Files go in path order: the two photos match the list (no service needed), then
    # ünï/ok.txt needs the service, which keeps failing.
    (web_root / "user 1" / "photos" / "b.jpg").write_bytes(LISTED)
    result = scan(config_path, web_root, "ünï", "user 1/photos")
    assert result.exit_code == 2
    assert "hash check failed, scan stopped after 2 files" in result.output
    [kept] = entries(db_url)
    assert [i.url.rsplit("/", 1)[-1] for i in kept["items"]] == [
        "b.jpg", "zee%20bij%20Noordwijk%20%C3%A9.jpg"]
    assert len(hash_service.requests) == 3  # one check, three attempts, then fail closed


def test_unreadable_files_and_folders_are_reported_and_exit_2(
        config_path: str, web_root: Path, db_url: str) -> None:
    """The real command, bound by file modes (as root, without the capabilities that let root
    ignore them): a file and a folder it cannot read are reported, never taken as checked, and
    the scan exits 2 with the matches it could read entered."""
    locked = web_root / "ünï" / "locked.txt"
    locked.write_bytes(LISTED)  # known: a scan that read it would enter it
    (web_root / "locked dir").mkdir()
    (web_root / "locked dir" / "inside.jpg").write_bytes(LISTED)
    locked.chmod(0)
    (web_root / "locked dir").chmod(0)
    try:
        done = run_bound_by_modes([*CLI, "scan", "--config", config_path, "--web-root",
                                   str(web_root), "--url-prefix", PREFIX])
    finally:
        (web_root / "locked dir").chmod(0o700)  # so that pytest can remove it
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not checked: ünï/locked.txt: Permission denied" in done.stderr, done.stderr
    assert "not checked: locked dir/: Permission denied" in done.stderr, done.stderr
    assert "2 files or folders could not be checked" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "scanned 6 files" in done.stdout and "locked" not in done.stdout, done.stdout
    [entry] = entries(db_url)  # the readable matches are entered all the same
    assert [i.url.rsplit("/", 1)[-1] for i in entry["items"]] == [
        "in-link.gif", "service.gif", "zee%20bij%20Noordwijk%20%C3%A9.jpg"]


def test_the_progress_bar_ends_at_100_percent_when_files_cannot_be_read(
        config_path: str, web_root: Path, db_url: str) -> None:
    """An unreadable file is processed all the same: the bar on the terminal reaches its end
    and counts it among the files done (but not among those checked)."""
    locked = web_root / "ünï" / "locked.txt"
    locked.write_bytes(LARGE)  # most of the bytes: a bar that skipped it would end near 50 %
    locked.chmod(0)
    status, out, terminal = run_on_a_terminal(without_override([
        *CLI, "scan", "--config", config_path, "--web-root", str(web_root),
        "--url-prefix", PREFIX]))
    assert status == 2, out + terminal
    assert "not checked: ünï/locked.txt: Permission denied" in terminal, terminal
    assert "7/7 files" in terminal and "100%" in terminal, terminal
    assert "scanned 6 files" in out, out


@pytest.mark.parametrize(("args", "message"), [
    (["--url-prefix", "ftp://x"], "--url-prefix"),
    (["--url-prefix", PREFIX, "../outside"], "not inside the web root"),
])
def test_bad_usage_exits_2(config_path: str, web_root: Path, args: list[str],
                           message: str) -> None:
    result = CliRunner().invoke(cli, ["scan", "--config", config_path, "--web-root",
                                      str(web_root), *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_a_bad_list_exits_2_naming_the_line(config_path: str, web_root: Path) -> None:
    known = Path(config_path).parent / "known.txt"
    known.write_text(known.read_text() + "not-a-hash\n")
    result = scan(config_path, web_root)
    assert result.exit_code == 2 and "known.txt:4: not a hex" in result.output


def test_listed_with_kind_filter(config_path: str, web_root: Path) -> None:
    assert scan(config_path, web_root).exit_code == 1
    out = CliRunner().invoke(cli, ["orders", "--config", config_path, "--json"])
    [listed] = json.loads(out.output)["orders"]
    assert listed["kind"] == "own_initiative" and listed["items_total"] == 3
