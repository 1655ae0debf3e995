"""The ``hoster-compliance`` command (PROTOCOL 7.2). Bad usage or input: exit 2 with one line
naming the problem on stderr, never a traceback.

The group and what its commands share live in ``group``; the commands, by subject, in
``running`` (init, worker, keys, alerts), ``orders`` (orders, act) and ``reports`` (report,
statements, audit). Importing this package registers them all."""

from . import orders, reports, running
from .group import LOG_FORMAT, cli, config_option, fail, load_checked, main, open_service
from .reports import run_report

__all__ = [
    "LOG_FORMAT",
    "cli",
    "config_option",
    "fail",
    "load_checked",
    "main",
    "open_service",
    "orders",
    "reports",
    "run_report",
    "running",
]
