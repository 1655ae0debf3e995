"""What the hoster publishes and keeps: ``report`` (Art. 15), ``statements`` (Art. 17) and
``audit verify``."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from ..errors import ComplianceError
from ..report import render_csv, render_json, render_markdown, write_dsa_csv
from ..service import ComplianceService
from .group import cli, config_option, fail, load_checked, open_service, parse_days


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
    start_day, end_day = parse_days(start, end)
    if fmt == "dsa-csv" and not out:
        fail("--out: dsa-csv writes a folder of files; give --out DIR")
    config = load_checked(config_path)
    run_report(open_service(config), start_day, end_day, fmt, Path(out) if out else None)


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
        try:
            out.mkdir(parents=True, exist_ok=True)
            paths = write_dsa_csv(report, out,
                                  service_name=config.service_name or config.hoster_id,
                                  provider_name=config.provider_name or config.hoster_id,
                                  published=now.date())
        except OSError as exc:
            fail(f"--out: cannot write {out} ({exc.strerror or type(exc).__name__})")
        for path in paths:
            click.echo(str(path))
        return
    renderers = {"json": render_json, "csv": render_csv, "md": render_markdown}
    text = renderers[fmt](report)
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"--out: cannot write {out} ({exc.strerror or type(exc).__name__})")


@cli.command()
@config_option
@click.option("--start", required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--end", required=True, help="Last day of the period (YYYY-MM-DD).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
def statements(config_path: str, start: str, end: str, out: str | None) -> None:
    """Statements of reasons (DSA Art. 17) whose action falls in the period, as JSON Lines."""
    start_day, end_day = parse_days(start, end)
    if end_day >= date.max:
        fail("--end: must be before 9999-12-31")
    service = open_service(load_checked(config_path))
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
    from ..store.audit import AuditHead

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
    service = open_service(load_checked(config_path))
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
