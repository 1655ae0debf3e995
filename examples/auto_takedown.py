"""Automatic takedown for a small hoster that serves user files from a web root.

For every new order, notice or own-initiative entry (``hoster-compliance scan``), each item whose
URL lies under ``--url-prefix`` is mapped to a file under ``--web-root``; the file is moved into
``--quarantine`` (kept, with a small JSON record, for the order's ``preserve_for_days``) and
``removed`` is recorded; a file that is not there is recorded as ``not_found``. Items outside the
prefix are left for a person. The issuer gets the outcome callback seconds after the order.

Run it next to ``hoster-compliance serve`` (it claims work through the database, so both can run):

    python examples/auto_takedown.py --config hoster.toml \
        --url-prefix https://files.example-hosting.nl/ --web-root /srv/files \
        --quarantine /srv/quarantine

``--purge`` deletes quarantined files whose preservation period has ended, then exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hoster_compliance import (
    AutomationContext,
    AutomationRunner,
    ComplianceService,
    ConfigError,
    Handler,
    load_config,
)
from hoster_compliance.timeutil import format_time, parse_time

log = logging.getLogger("auto_takedown")


def file_for(url: str, url_prefix: str, web_root: Path) -> Path | None:
    """The file that serves ``url``, or None when the URL is not ours (or escapes the root)."""
    if not url.startswith(url_prefix):
        return None
    relative = unquote(urlsplit(url[len(url_prefix):]).path).lstrip("/")
    root = web_root.resolve()
    candidate = (root / relative).resolve()
    if candidate == root or root not in candidate.parents:
        return None  # "../" tricks never reach outside the web root
    return candidate


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "_"


def make_handler(url_prefix: str, web_root: Path, quarantine: Path) -> Handler:
    """The automation handler: quarantine what we serve, report what is gone."""

    def auto_takedown(ctx: AutomationContext) -> None:
        order = ctx.order
        for item in order["items"]:
            if item["action"] is not None:
                continue
            path = file_for(item["url"], url_prefix, web_root)
            if path is None:
                continue  # not under our prefix: a person decides
            if not path.is_file():
                ctx.act(item["item_id"], "not_found")
                continue
            folder = quarantine / _safe(order["issuer_id"]) / _safe(order["order_id"]) / \
                _safe(item["item_id"])
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), folder / path.name)
            # Own-initiative matches (hoster-compliance scan) are quarantined, never deleted, and
            # recorded as disabled: a false positive can be moved back and `reinstated`.
            action = "disabled" if order["kind"] == "own_initiative" else "removed"
            recorded = ctx.act(item["item_id"], action)
            (folder / "record.json").write_text(json.dumps({
                "issuer_id": order["issuer_id"], "order_id": order["order_id"],
                "item_id": item["item_id"], "url": item["url"], "file": path.name,
                "removed_at": recorded["acted_at"], "preserve_until": recorded["preserve_until"],
                "confidential": order.get("confidential", False),
            }, indent=2))
            log.info("quarantined %s (order %s/%s)", path, order["issuer_id"], order["order_id"])

    return auto_takedown


def purge(quarantine: Path, now: datetime) -> list[Path]:
    """Delete quarantined items whose preservation ended (or that had none to keep)."""
    removed = []
    for record in quarantine.glob("*/*/*/record.json"):
        until = json.loads(record.read_text()).get("preserve_until")
        if until is None or parse_time(until) <= now:
            shutil.rmtree(record.parent)
            removed.append(record.parent)
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
    if args.purge:
        for folder in purge(args.quarantine, datetime.now(UTC)):
            print(f"purged {folder}")
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"auto_takedown: bad configuration: {exc.key}: {exc.problem}", file=sys.stderr)
        return 2
    stop, wake = threading.Event(), threading.Event()
    service = ComplianceService(config, notify=wake.set)
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
