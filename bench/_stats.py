"""Percentiles and latency summaries, one definition for every benchmark (nearest rank)."""

from __future__ import annotations

from typing import Any


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(int(round(p / 100 * len(sorted_values) + 0.5)) - 1, 0)
    return sorted_values[min(rank, len(sorted_values) - 1)]


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    """An ascending, non-empty list of latencies in seconds as milliseconds: ``orders``,
    ``p50_ms``, ``p90_ms``, ``p99_ms``, ``max_ms``, ``min_ms``, and how many were ``negative``
    (the answer overtaken by what it caused)."""
    return {
        "orders": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": latencies[-1] * 1000,
        "min_ms": latencies[0] * 1000,
        "negative": sum(1 for v in latencies if v < 0),
    }


def latency_text(summary: dict[str, Any]) -> str:
    """A :func:`latency_summary` on one line: ``p50 .. ms  p90 ..  p99 ..  max .. (min .., N
    before the 2xx was read``; the caller closes the parenthesis."""
    return (f"p50 {summary['p50_ms']:.1f} ms  p90 {summary['p90_ms']:.1f} ms  "
            f"p99 {summary['p99_ms']:.1f} ms  max {summary['max_ms']:.1f} ms  "
            f"(min {summary['min_ms']:.1f} ms, {summary['negative']} before the 2xx was read")
