"""Automatic takedown for a small hoster that serves user files from a web root.

For every new order, notice or own-initiative entry (``hoster-compliance scan``), each item whose
URL lies under ``--url-prefix`` is mapped to a file under ``--web-root``; the file is moved into
``--quarantine`` (kept, with a small JSON record, for the order's ``preserve_for_days``) and
``removed`` is recorded (``disabled`` for own-initiative matches: quarantined, never deleted, so
that a false positive can be moved back and ``reinstated``); a file that is not there, or a URL
that cannot name a file, is recorded as ``not_found``. Items outside the prefix are left for a
person. The issuer gets the outcome callback seconds after the order.

Run it next to ``hoster-compliance serve`` (it claims work through the database, so both can run):

    python examples/auto_takedown.py --config hoster.toml \
        --url-prefix https://files.example-hosting.nl/ --web-root /srv/files \
        --quarantine /srv/quarantine

``--purge`` deletes quarantined files whose preservation period has ended, then exits.

What it guarantees:

- Each item gets its own folder, ``QUARANTINE/<sha256 of issuer, order and item id>/``, holding
  the file as ``content`` and a readable ``record.json`` (issuer, order, item, URL, original
  path, times). Ids cannot make two items share a folder, nor a folder leave the quarantine.
- Every item is handled even when another fails; the failures are raised together at the end
  (the automation runner records them as an ``automation_failed`` event for a person).
- The file is moved before ``removed`` is recorded; if recording fails (the order was withdrawn,
  a person recorded another action, the database is down), the file is put back. A run that
  stopped between the two finds the file in its folder and records ``removed`` next time.
- ``--purge`` asks the database, not the record, whether an item's preservation has ended, and
  keeps every folder it cannot prove is due (no action recorded, unknown order, unreadable or
  misplaced record).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hoster_compliance import (
    AutomationContext,
    AutomationRunner,
    ComplianceError,
    ComplianceService,
    ConfigError,
    Handler,
    load_config,
)
from hoster_compliance.logtext import safe
from hoster_compliance.timeutil import format_time, parse_time

log = logging.getLogger("auto_takedown")

CONTENT = "content"
RECORD = "record.json"
NAME_MAX = 255  # bytes in one path segment on Linux file systems


class NoSuchFile(Exception):
    """The URL is under our prefix but cannot name a file (NUL, a segment too long)."""


class ItemsFailed(Exception):
    """Some items could not be handled; the others were."""


def file_for(url: str, url_prefix: str, web_root: Path) -> Path | None:
    """The file that serves ``url``, or None when the URL is not ours (or escapes the root).
    Raises ``NoSuchFile`` when no file can have that name."""
    if not url.startswith(url_prefix):
        return None
    relative = unquote(urlsplit(url[len(url_prefix):]).path).lstrip("/")
    if "\x00" in relative or any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX
                                 for part in relative.split("/")):
        raise NoSuchFile(url)
    root = web_root.resolve()
    try:
        candidate = (root / relative).resolve()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise NoSuchFile(url) from exc
        raise
    if candidate == root or root not in candidate.parents:
        return None  # "../" tricks never reach outside the web root
    return candidate


def quarantine_folder(quarantine: Path, issuer_id: str, order_id: str, item_id: str) -> Path:
    """The item's own folder: named by a digest of the three ids, so no two items share it and
    it is always directly inside ``quarantine``, whatever the ids hold."""
    key = json.dumps([issuer_id, order_id, item_id], ensure_ascii=False)
    return quarantine / hashlib.sha256(key.encode("utf-8")).hexdigest()


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    partial = folder / (RECORD + ".part")
    partial.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, folder / RECORD)  # never a half-written record


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return False
        raise


def make_handler(url_prefix: str, web_root: Path, quarantine: Path) -> Handler:
    """The automation handler: quarantine what we serve, report what is gone."""

    def handle(ctx: AutomationContext, item: dict[str, Any]) -> None:
        order = ctx.order
        try:
            path = file_for(item["url"], url_prefix, web_root)
        except NoSuchFile:
            ctx.act(item["item_id"], "not_found")
            return
        if path is None:
            return  # not under our prefix: a person decides
        folder = quarantine_folder(quarantine, order["issuer_id"], order["order_id"],
                                   item["item_id"])
        held = folder / CONTENT
        record = {
            "issuer_id": order["issuer_id"], "order_id": order["order_id"],
            "item_id": item["item_id"], "url": item["url"], "file": path.name,
            "original_path": str(path), "content": CONTENT,
            "confidential": order.get("confidential", False),
            "quarantined_at": format_time(datetime.now(UTC)),
            "state": "moved; the action is not recorded yet",
        }
        if not _is_file(path):
            if held.is_file():  # moved by a run that stopped before recording
                _recorded(ctx, item, folder, json.loads((folder / RECORD).read_text()))
            else:
                ctx.act(item["item_id"], "not_found")
            return
        if held.exists():
            raise FileExistsError(f"{held} already holds an earlier copy; a person decides")
        folder.mkdir(parents=True, exist_ok=True)
        _write_record(folder, record)
        shutil.move(str(path), held)
        try:
            _recorded(ctx, item, folder, record)
        except BaseException:
            _restore(held, path, folder)
            raise
        log.info("quarantined %s (order %s/%s item %s)", safe(path), safe(order["issuer_id"]),
                 safe(order["order_id"]), safe(item["item_id"]))

    def _recorded(ctx: AutomationContext, item: dict[str, Any], folder: Path,
                  record: dict[str, Any]) -> None:
        # Own-initiative matches (hoster-compliance scan) are quarantined, never deleted, and
        # recorded as disabled: a false positive can be moved back and `reinstated`.
        action = "disabled" if ctx.order["kind"] == "own_initiative" else "removed"
        recorded = ctx.act(item["item_id"], action)
        _write_record(folder, dict(record, state=action, removed_at=recorded["acted_at"],
                                   preserve_until=recorded["preserve_until"]))

    def auto_takedown(ctx: AutomationContext) -> None:
        failures = []
        for item in ctx.order["items"]:
            if item["action"] is not None:
                continue
            try:
                handle(ctx, item)
            except Exception as exc:  # one item's failure never stops the others
                log.error("item %s of order %s/%s not handled: %s: %s", safe(item["item_id"]),
                          safe(ctx.order["issuer_id"]), safe(ctx.order["order_id"]),
                          type(exc).__name__, safe(exc))
                failures.append(f"{item['item_id']}: {type(exc).__name__}: {exc}")
        if failures:
            raise ItemsFailed("; ".join(failures))

    return auto_takedown


def _restore(held: Path, path: Path, folder: Path) -> None:
    """Put the file back where it was served from; keep it quarantined if that place is
    taken (the record then says the action is not recorded)."""
    if path.exists():
        log.error("cannot restore %s: the path is taken; it stays in %s", safe(path), folder)
        return
    shutil.move(str(held), path)
    shutil.rmtree(folder)
    log.warning("restored %s: the action could not be recorded", safe(path))


def purge(service: ComplianceService, quarantine: Path, now: datetime) -> list[Path]:
    """Delete the quarantined items whose preservation has ended (or that had none to keep),
    as the database records it. Everything not proven due is kept."""
    removed = []
    for record_path in sorted(quarantine.glob(f"*/{RECORD}")):
        folder = record_path.parent
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            ids = record["issuer_id"], record["order_id"], record["item_id"]
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("kept %s: unreadable record", folder)
            continue
        if quarantine_folder(quarantine, *ids) != folder:
            log.warning("kept %s: its record names another item", folder)
            continue
        try:
            order = service.get_order(ids[0], ids[1])
        except ComplianceError:
            log.warning("kept %s: order %s/%s is not in the database", folder, *ids[:2])
            continue
        item = next((i for i in order["items"] if i["item_id"] == ids[2]), None)
        if item is None or item["action"] is None:
            log.warning("kept %s: no action is recorded for it", folder)
            continue
        until = item["preserve_until"]
        if until is None or parse_time(until) <= now:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Automatic takedown of files in a web root")
    parser.add_argument("--config", required=True)
    parser.add_argument("--url-prefix", required=True)
    parser.add_argument("--web-root", required=True, type=Path)
    parser.add_argument("--quarantine", required=True, type=Path)
    parser.add_argument("--purge", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"auto_takedown: bad configuration: {exc.key}: {exc.problem}", file=sys.stderr)
        return 2
    stop, wake = threading.Event(), threading.Event()
    service = ComplianceService(config, notify=wake.set)
    if args.purge:
        for folder in purge(service, args.quarantine, datetime.now(UTC)):
            print(f"purged {folder}")
        return 0
    runner = AutomationRunner(service, [make_handler(args.url_prefix, args.web_root,
                                                     args.quarantine)])
    delivery = service.delivery_worker()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=delivery.run, args=(stop, wake), daemon=True)
    thread.start()
    log.info("auto_takedown watching for new orders (%s -> %s) at %s", args.url_prefix,
             args.web_root, format_time(datetime.now(UTC)))
    runner.run(stop, threading.Event())
    thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
