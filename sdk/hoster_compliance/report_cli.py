"""The glue between ``hoster-compliance report`` and the report package."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from .config import Config
from .report import build_report, render_csv, render_json, render_markdown, write_dsa_csv
from .timeutil import utcnow


def run_report(
    config: Config, engine: Engine, start: date, end: date, fmt: str, out: Path | None
) -> None:
    """Build the report for [start, end] and write it in ``fmt`` to ``out`` or stdout."""
    now = utcnow()
    report = build_report(engine, start, end, now=now)
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
