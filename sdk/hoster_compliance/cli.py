"""The ``hoster-compliance`` command (PROTOCOL 7.2). Bad usage or input: exit 2 with one line
naming the problem on stderr, never a traceback."""

from __future__ import annotations

import getpass
import json
import logging
import shlex
import signal
import sys
import threading
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa

from .config import Config, load_config
from .errors import ComplianceError, ConfigError
from .orders import reads as queries
from .report import render_csv, render_json, render_markdown, write_dsa_csv
from .service import ComplianceService
from .store.engine import make_engine
from .timeutil import parse_time
from .vocabulary import BASES
from .workers import run_retention

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def fail(message: str, status: int = 2) -> NoReturn:
    """One line on stderr, then exit (2: bad usage or input)."""
    click.echo(f"hoster-compliance: {message}", err=True)
    sys.exit(status)


def load_checked(path: str) -> Config:
    """The configuration at ``path``, or exit 2 with the bad key named."""
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(f"bad configuration: {exc.key}: {exc.problem}")


def _service(config: Config, **engine_options: Any) -> ComplianceService:
    try:
        engine = make_engine(config.database_url, **engine_options) if engine_options else None
        service = ComplianceService(config, engine)
    except sa.exc.SQLAlchemyError as exc:
        fail(f"database_url: cannot open the database ({type(exc).__name__})")
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(service.close)
    return service


config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False),
    help="The TOML configuration file (PROTOCOL 7.1).",
)


class _Commands(click.Group):
    """The command group, plus the commands other packages register under the
    ``hoster_compliance.commands`` entry point group (the receiver adds ``serve``). They are
    loaded only when asked for, so importing the CLI never imports the adapter."""

    def _registered(self) -> dict[str, Any]:
        return {e.name: e for e in entry_points(group="hoster_compliance.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._registered()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        entry = self._registered().get(cmd_name) if command is None else None
        if entry is None:
            return command
        try:
            loaded: click.Command = entry.load()
        except ImportError as exc:
            fail(f"{cmd_name} needs the receiver extra: "
                 f"pip install 'hoster-compliance[receiver]' ({exc.name or exc} is missing)")
        return loaded


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Receive, act on and report removal orders and notices."""


@cli.command()
@click.option("--dir", "directory", default=".", show_default=True,
              help="The folder to write hoster.toml into (created when missing).")
def init(directory: str) -> None:
    """Write hoster.toml: a commented configuration with a fresh operator token, one example
    issuer with a fresh secret, and SQLite; never overwrites a file."""
    from .starter import FILE_NAME, write_starter_config

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
    service = _service(config, pool_size=threads + 1, max_overflow=2)
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


@cli.command()
@config_option
@click.option("--status", default="open", show_default=True,
              type=click.Choice(queries.STATUSES))
@click.option("--json", "as_json", is_flag=True, help="Print the API's shape {\"orders\": [...]}.")
def orders(config_path: str, status: str, as_json: bool) -> None:
    """List orders, deadline first."""
    service = _service(load_checked(config_path))
    try:
        found = list(service.iter_orders(status))
    except ComplianceError as exc:
        fail(f"{exc.code}: {exc.message}")
    if as_json:
        click.echo(json.dumps({"orders": found}, indent=2))
        return
    if not found:
        click.echo(f"no {status} orders" if status != "all" else "no orders")
        return
    header = f"{'DEADLINE':<22} {'STATUS':<10} {'ISSUER':<14} {'ORDER':<24} {'KIND':<7} " \
             f"{'ITEMS':>7}  ACK"
    click.echo(header)
    for o in found:
        status_text = "OVERDUE" if o["overdue"] else o["status"]
        click.echo(
            f"{o['deadline'] or '-':<22} {status_text:<10} {o['issuer_id']:<14} "
            f"{o['order_id']:<24} {o['kind']:<7} "
            f"{o['items_resolved']:>3}/{o['items_total']:<3}  "
            f"{'yes' if o['acknowledged_at'] else 'no'}"
        )


@cli.command(context_settings={"ignore_unknown_options": False})
@config_option
@click.argument("args", nargs=-1, required=True)
@click.option("--all", "all_items", is_flag=True, help="Act on every item without an action.")
@click.option("--at", "acted_at", default=None, help="When it was done (RFC 3339); default now.")
@click.option("--reason", default=None, help="Required for `refused` and `reinstated`.")
@click.option("--basis", type=click.Choice(BASES), default=None)
@click.option("--automated", is_flag=True, help="The action was taken by automated means.")
def act(config_path: str, args: tuple[str, ...], all_items: bool, acted_at: str | None,
        reason: str | None, basis: str | None, automated: bool) -> None:
    """Record an action: ISSUER_ID ORDER_ID (ITEM_ID | --all) ACTION."""
    expected = 3 if all_items else 4
    if len(args) != expected:
        fail("usage: act --config FILE ISSUER_ID ORDER_ID (ITEM_ID|--all) ACTION "
             f"[--at TIME] [--reason TEXT] (got {len(args)} arguments)")
    issuer_id, order_id = args[0], args[1]
    item_id = None if all_items else args[2]
    body: dict[str, Any] = {"action": args[-1]}
    if acted_at is not None:
        try:
            parse_time(acted_at)
        except ValueError:
            fail("--at: not an RFC 3339 time with an offset (e.g. 2026-11-22T09:30:00Z)")
        body["acted_at"] = acted_at
    for key, value in (("reason", reason), ("basis", basis)):
        if value is not None:
            body[key] = value
    if automated:
        body["automated"] = True
    service = _service(load_checked(config_path))
    try:
        result = service.act(issuer_id, order_id, item_id, body,
                             actor=f"cli:{getpass.getuser()}")
    except ComplianceError as exc:
        details = ""
        if exc.fields:
            details = " (" + json.dumps(exc.fields, separators=(",", ":")) + ")"
        fail(f"{exc.code}: {exc.message}{details}")
    click.echo(json.dumps(result, indent=2))


@cli.command()
@config_option
@click.option("--start", required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--end", required=True, help="Last day of the period (YYYY-MM-DD).")
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(["json", "csv", "md", "dsa-csv"]))
@click.option("--out", default=None, type=click.Path(),
              help="File (or folder for dsa-csv) to write; default stdout.")
def report(config_path: str, start: str, end: str, fmt: str, out: str | None) -> None:
    """The DSA Art. 15 transparency report."""
    try:
        start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail("--start/--end: dates must be YYYY-MM-DD")
    if end_day < start_day:
        fail("--end: must not be before --start")
    if fmt == "dsa-csv" and not out:
        fail("--out: dsa-csv writes a folder of files; give --out DIR")
    config = load_checked(config_path)
    run_report(_service(config), start_day, end_day, fmt, Path(out) if out else None)


def run_report(
    service: ComplianceService, start: date, end: date, fmt: str, out: Path | None
) -> None:
    """Build the report for [start, end] and write it in ``fmt`` to ``out`` or stdout."""
    config = service.config
    try:
        report = service.report(start, end)
    except ComplianceError as exc:
        fail(f"{exc.code}: {exc.message}")
    now = service.clock()
    if fmt == "dsa-csv":
        assert out is not None
        out.mkdir(parents=True, exist_ok=True)
        paths = write_dsa_csv(report, out, service_name=config.service_name or config.hoster_id,
                              provider_name=config.provider_name or config.hoster_id,
                              published=now.date())
        for path in paths:
            click.echo(str(path))
        return
    renderers = {"json": render_json, "csv": render_csv, "md": render_markdown}
    text = renderers[fmt](report)
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


@cli.command()
@config_option
@click.option("--start", required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--end", required=True, help="Last day of the period (YYYY-MM-DD).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
def statements(config_path: str, start: str, end: str, out: str | None) -> None:
    """Statements of reasons (DSA Art. 17) whose action falls in the period, as JSON Lines."""
    try:
        start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail("--start/--end: dates must be YYYY-MM-DD")
    if end_day < start_day:
        fail("--end: must not be before --start")
    if end_day >= date.max:
        fail("--end: must be before 9999-12-31")
    service = _service(load_checked(config_path))
    try:
        lines = [json.dumps(s, ensure_ascii=False, separators=(",", ":")) + "\n"
                 for s in service.iter_statements(start_day, end_day)]
    except ComplianceError as exc:
        fail(f"{exc.code}: {exc.message}")
    text = "".join(lines)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--out: cannot write {out} ({exc.strerror or type(exc).__name__})")
    click.echo(f"{len(lines)} statements written to {out}", err=True)


@cli.group()
def audit() -> None:
    """The tamper-evident audit trail."""


def _head(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Any]:
    from .store.audit import AuditHead

    try:
        return [AuditHead.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit.command("verify")
@config_option
@click.option("--expect", "expect", multiple=True, callback=_head, metavar="SEQ:HASH",
              help="A head printed by an earlier run (or an issuer's audit witness): exit 1 "
                   "unless event SEQ still has HASH. May be given several times.")
def audit_verify(config_path: str, expect: list[Any]) -> None:
    """Check the trail: its hash chain, every order's and item's state against its events,
    and heads kept elsewhere. Exit 1 naming what differs."""
    service = _service(load_checked(config_path))
    try:
        report = service.verify_audit(expect)
    except ComplianceError as exc:
        fail(f"{exc.code}: {exc.message}")
    for problem in report.chain:
        where = f"event {problem.event_id}" if problem.event_id is not None else "chain head"
        click.echo(f"{where}: {problem.problem}")
    for state in report.state:
        click.echo(str(state))
    if report.state_total > len(report.state):
        click.echo(f"... and {report.state_total - len(report.state)} more differences")
    for expected in report.expected:
        click.echo(str(expected))
    if report.partial_orders:
        click.echo(f"note: {report.partial_orders} orders were received before events recorded "
                   "every column fixed at receipt; their category, sub-category, Member State, "
                   "preservation and data are not checked (their deadline, status and actions "
                   "are)")
    head = "none" if report.head is None else str(report.head)
    if not report.intact:
        problems = len(report.chain) + report.state_total + len(report.expected)
        click.echo(f"audit trail BROKEN: {problems} problem(s) in {report.events} events; "
                   f"head {head}", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {report.events} events; head {head}")


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
    from .protocol import keys as ed25519

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
    results = _service(config).send_test_alerts(channel)
    for name, reason in results:
        click.echo(f"{name}: delivered" if reason is None else f"{name}: failed: {reason}")
    if any(reason is not None for _, reason in results):
        sys.exit(1)


def main() -> None:
    """Console entry point: click's own usage errors already exit 2 with one line."""
    try:
        cli.main(standalone_mode=True)
    except ComplianceError as exc:  # pragma: no cover - every command catches its own
        fail(f"{exc.code}: {exc.message}")
