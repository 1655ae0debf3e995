"""``hoster-compliance scan`` (PROTOCOL 11.2), registered through the
``hoster_compliance.commands`` entry point group like ``serve``.

Exit 0 when nothing matched, 1 when something did, 2 on bad usage or a failed check (what was
checked is kept: the matches found before it are entered)."""

from __future__ import annotations

import sys
import time
from typing import Any
from urllib.parse import urlsplit

import click

from ..cli import config_option, fail, load_checked
from ..errors import ComplianceError
from ..orders.own_initiative import MAX_NOTE, Finding
from ..vocabulary import SELF
from . import build_checker
from .check import SERVICE_NOTE
from .hashlist import HashListError
from .scan import MAX_URL, FileEntry, ScanResult, ScanUsageError, scan, walk


def printable(text: str) -> str:
    """A name from disk for a terminal line: control characters escaped (a newline in a file
    name cannot forge a line of output)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _note(source: str) -> str:
    return SERVICE_NOTE if source == SERVICE_NOTE else f"hash list {source}"[:MAX_NOTE]


def _megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"


@click.command("scan")
@config_option
@click.option("--web-root", required=True, type=click.Path(file_okay=False),
              help="The folder the files are served from.")
@click.option("--url-prefix", required=True,
              help="The public URL of the web root (an item's URL is this plus the path).")
@click.option("--dry-run", is_flag=True, help="Check and print, but enter nothing.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Files hashed at once.")
@click.argument("paths", nargs=-1)
def scan_command(config_path: str, web_root: str, url_prefix: str, dry_run: bool,
                 threads: int, paths: tuple[str, ...]) -> None:
    """Check stored files against the [hashcheck] lists and service; each match becomes an item
    of one own-initiative entry. Nothing is ever deleted."""
    parts = urlsplit(url_prefix)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or \
            parts.fragment:
        fail("--url-prefix: must be an absolute http:// or https:// URL without query")
    config = load_checked(config_path)
    if config.hashcheck is None:
        fail("bad configuration: hashcheck: no [hashcheck] table (lists or service_url)")
    try:
        tree = walk(web_root, paths)
    except ScanUsageError as exc:
        fail(str(exc))
    try:
        checker = build_checker(config)
    except HashListError as exc:
        fail(f"hash list {printable(exc.where)}: {exc.problem}")
    service = None if dry_run else _service_for(config)
    result = _run(tree.files, checker, url_prefix, threads)
    checker.close()
    for found in result.found:
        click.echo(f"match: {found.url} {found.match.algorithm}:{found.match.value} "
                   f"({_note(found.match.source)})")
    problems = [*tree.unlisted, *result.unreadable]
    for problem in problems:
        click.echo(f"not checked: {printable(problem)}", err=True)
    rate = result.bytes / result.seconds if result.seconds > 0 else 0.0
    click.echo(f"scanned {result.files} files, {_megabytes(result.bytes)} in "
               f"{result.seconds:.1f} s ({_megabytes(rate)}/s); {len(result.found)} matched; "
               f"{tree.skipped_links} links not followed")
    findings = [Finding(f.url, f.match.algorithm, f.match.value, _note(f.match.source))
                for f in result.found if len(f.url) <= MAX_URL]
    for f in result.found:
        if len(f.url) > MAX_URL:
            problems.append(f"{printable(f.relative)}: URL longer than {MAX_URL} characters")
            click.echo(f"not entered: {printable(f.relative)}: URL too long", err=True)
    if service is not None and findings:
        try:
            entry = service.record_own_initiative(findings)
        except ComplianceError as exc:
            fail(f"{exc.code}: {exc.message}")
        if entry["order_id"] is None:
            click.echo(f"nothing new to enter ({entry['already_entered']} already entered)")
        else:
            click.echo(f"own-initiative entry {SELF}/{entry['order_id']}: {entry['items']} "
                       f"items, deadline {entry['deadline']} "
                       f"({entry['already_entered']} already entered)")
    if result.stopped is not None:
        fail(f"hash check failed, scan stopped after {result.files} files: {result.stopped}")
    if problems:
        fail(f"{len(problems)} files or folders could not be checked")
    sys.exit(1 if result.found else 0)


def _service_for(config: Any) -> Any:
    from ..cli import open_service

    return open_service(config)


def _run(files: list[FileEntry], checker: Any, url_prefix: str, threads: int) -> ScanResult:
    total = sum(entry.size for entry in files)
    started = time.monotonic()
    state = {"files": 0, "matches": 0, "bytes": 0}

    # Called by the bar from its first drawing on (before the `with` binds it): reads `state`.
    def info(_: object) -> str:
        elapsed = max(time.monotonic() - started, 1e-6)
        return (f"{state['files']}/{len(files)} files, {state['matches']} matches, "
                f"{_megabytes(state['bytes'] / elapsed)}/s")

    with click.progressbar(length=max(total, 1), label="scanning", file=sys.stderr,
                           show_eta=True, show_percent=True, item_show_func=info,
                           width=24) as bar:
        # Called for every file, read or not (an unreadable one is processed too), so the bar
        # and the count of files end at the total.
        def progress(entry: FileEntry, result: ScanResult) -> None:
            state["files"] += 1
            state["matches"] = len(result.found)
            state["bytes"] += entry.size
            bar.update(entry.size, entry)

        return scan(files, checker, url_prefix, threads=threads, progress=progress)
