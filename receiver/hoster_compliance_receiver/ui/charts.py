"""The report page's charts as inline SVG, drawn on the server (no script, nothing fetched):
orders per month (within the deadline / overdue / neither) and median hours to effect per
month. Colours come from the stylesheet (classes), and every chart has a data table beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 32


def nice_ceiling(value: float) -> float:
    """The axis maximum: ``value`` rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{value:.3g}"


def _frame(title: str, months: Sequence[str], top: float, unit: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    plot_h = HEIGHT - TOP - BOTTOM
    for n in range(5):
        value = top * n / 4
        y = TOP + plot_h - plot_h * n / 4
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{_number(value)}</text>")
    parts.append(f'<text class="axis" x="4" y="14">{escape(unit)}</text>')
    step = max(1, math.ceil(len(months) / 12))  # at most 12 month labels
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(months))
    for n, month in enumerate(months):
        if n % step == 0:
            x = LEFT + slot * (n + 0.5)
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(month)}</text>')
    return parts


def _bar(parts: list[str], cls: str, x: float, width: float, y: float, height: float,
         label: str) -> None:
    if height <= 0:
        return
    parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                 f'height="{height:.1f}"><title>{escape(label)}</title></rect>')


def orders_chart(months: Sequence[dict[str, Any]]) -> Markup:
    """Stacked bars per month: within the deadline, overdue, and the rest (no deadline,
    withdrawn, or open and not yet due)."""
    names = [m["month"] for m in months]
    top = nice_ceiling(max((m["count"] for m in months), default=0))
    parts = _frame("Orders per month: within the deadline, overdue, other", names, top,
                   "orders")
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(months))
    width = slot * 0.7
    for n, m in enumerate(months):
        x = LEFT + slot * n + (slot - width) / 2
        base = TOP + plot_h
        other = m["count"] - m["within_deadline"] - m["overdue"]
        for cls, value, what in (("within", m["within_deadline"], "within the deadline"),
                                 ("overdue", m["overdue"], "overdue"),
                                 ("other", other, "other")):
            height = plot_h * value / top
            _bar(parts, cls, x, width, base - height, height, f"{m['month']}: {value} {what}")
            base -= height
    parts.append("</svg>")
    return Markup("".join(parts))


def effect_chart(months: Sequence[dict[str, Any]]) -> Markup:
    """Bars per month: the median hours from receipt to effect (none: no bar)."""
    names = [m["month"] for m in months]
    values = [m["median_hours_to_effect"] for m in months]
    top = nice_ceiling(max((v for v in values if v is not None), default=0))
    parts = _frame("Median hours from receipt to effect, per month", names, top, "hours")
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(months))
    width = slot * 0.7
    for n, (month, value) in enumerate(zip(names, values, strict=True)):
        if value is None:
            continue
        height = plot_h * value / top
        _bar(parts, "effect", LEFT + slot * n + (slot - width) / 2, width,
             TOP + plot_h - height, height, f"{month}: median {value:.2f} h")
    parts.append("</svg>")
    return Markup("".join(parts))
