"""The ``hoster-compliance`` command group and what every command shares: one-line failures
(exit 2), loading the configuration, opening the service, the ``--config`` option, and the
commands other packages register (PROTOCOL 7.2)."""

from __future__ import annotations

import sys
from datetime import date
from importlib.metadata import entry_points
from typing import Any, NoReturn

import click
import sqlalchemy as sa

from ..config import Config, load_config
from ..errors import ComplianceError, ConfigError
from ..service import ComplianceService
from ..store.engine import make_engine

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


def open_service(config: Config, **engine_options: Any) -> ComplianceService:
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


def parse_days(start: str, end: str) -> tuple[date, date]:
    """``--start`` and ``--end`` as days, or exit 2: not ``YYYY-MM-DD``, or the end first."""
    try:
        start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail("--start/--end: dates must be YYYY-MM-DD")
    if end_day < start_day:
        fail("--end: must not be before --start")
    return start_day, end_day


def main() -> None:
    """Console entry point: click's own usage errors already exit 2 with one line."""
    try:
        cli.main(standalone_mode=True)
    except ComplianceError as exc:  # pragma: no cover - every command catches its own
        fail(f"{exc.code}: {exc.message}")
