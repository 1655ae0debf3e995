"""Setting up and running: ``init``, ``worker``, ``keys generate``, ``alerts test``."""

from __future__ import annotations

import json
import logging
import shlex
import signal
import sys
import threading
from pathlib import Path

import click

from ..workers import run_retention
from .group import LOG_FORMAT, cli, config_option, fail, load_checked, open_service


@cli.command()
@click.option("--dir", "directory", default=".", show_default=True,
              help="The folder to write hoster.toml into (created when missing).")
def init(directory: str) -> None:
    """Write hoster.toml: a commented configuration with a fresh operator token, one example
    issuer with a fresh secret, and SQLite; never overwrites a file."""
    from ..starter import FILE_NAME, write_starter_config

    folder = Path(directory)
    target = folder / FILE_NAME
    if folder.exists() and not folder.is_dir():
        fail(f"--dir: {folder} is not a folder")
    try:
        path = write_starter_config(folder)
    except FileExistsError:
        fail(f"{target} already exists; not overwritten")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or type(exc).__name__}")
    click.echo(f"Wrote {path} (fresh secrets; keep it private). Next, in two terminals:")
    click.echo(f"  hoster-compliance serve --config {shlex.quote(str(path))}")
    click.echo(f"  python examples/issuer_simulator.py --config {shlex.quote(str(path))}")


@cli.command()
@config_option
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def worker(config_path: str, threads: int) -> None:
    """Run delivery workers on their own (with `serve --no-worker` receivers)."""
    config = load_checked(config_path)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # One connection per delivery thread, so that no thread waits for the pool.
    service = open_service(config, pool_size=threads + 1, max_overflow=2)
    stop, wake = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    workers = [
        threading.Thread(target=service.delivery_worker().run,
                         args=(stop, wake), kwargs={"max_idle_seconds": 0.5}, daemon=True)
        for _ in range(threads)
    ]
    # The notifiers past their retention are erased here too (PROTOCOL 10.2).
    workers.append(threading.Thread(target=run_retention, args=(service, stop), daemon=True))
    for thread in workers:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in workers:
        thread.join(30)


@cli.group()
def keys() -> None:
    """Ed25519 keys for v1a signatures."""


@keys.command("generate")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"signing_key", "public_key", "kid"} instead of two lines.')
def keys_generate(as_json: bool) -> None:
    """Print a new key pair: the signing key (whsk_..., secret), then its public key (whpk_...).

    The hoster puts its signing key in the variable named by signing_key_env; an issuer keeps
    its own and gives the hoster only the public key (public_keys)."""
    from ..protocol import keys as ed25519

    signing_key, public_key = ed25519.generate_key_pair()
    kid = ed25519.kid(ed25519.parse_public_key(public_key))
    if as_json:
        click.echo(json.dumps({"signing_key": signing_key, "public_key": public_key,
                               "kid": kid}))
        return
    click.echo(signing_key)
    click.echo(public_key)
    click.echo(f"line 1: the signing key, keep it secret; line 2: its public key (kid {kid})",
               err=True)


@cli.group()
def alerts() -> None:
    """Alerts to the hoster's people (PROTOCOL 9)."""


@alerts.command("test")
@config_option
@click.option("--channel", default=None, help="Only this [[alerts]] channel (its name).")
def alerts_test(config_path: str, channel: str | None) -> None:
    """Send a test alert through every channel at once; exit 1 when any failed."""
    config = load_checked(config_path)
    if not config.alerts:
        fail("alerts: no [[alerts]] channel is configured")
    if channel is not None and config.alert_channel(channel) is None:
        fail(f"--channel: no alert channel is named {channel!r} "
             f"(configured: {', '.join(a.name for a in config.alerts)})")
    results = open_service(config).send_test_alerts(channel)
    for name, reason in results:
        click.echo(f"{name}: delivered" if reason is None else f"{name}: failed: {reason}")
    if any(reason is not None for _, reason in results):
        sys.exit(1)
