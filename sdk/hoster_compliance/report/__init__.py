"""The DSA Art. 15(1)(a)/(b) transparency report: ``build_report`` aggregates the store, the
renderers turn the result into JSON, flat CSV, Markdown or the Commission's CSV templates."""

from .aggregate import MAX_MONTHS, build_report, orders_by_month, parse_period
from .dsa_csv import write_dsa_csv
from .render import render_csv, render_json, render_markdown, within_deadline_share

__all__ = [
    "MAX_MONTHS",
    "build_report",
    "orders_by_month",
    "parse_period",
    "render_csv",
    "render_json",
    "render_markdown",
    "within_deadline_share",
    "write_dsa_csv",
]
