"""Turn counts and durations into the published figures: percentages, medians, p90, means.

Rounding: percentages and means to one decimal (half up for percentages), minutes for
display to one decimal; the median of an even count is the mean of the two middle
values; p90 is the nearest-rank value (the ceil(0.9 * n)-th smallest).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

AGGREGATIONS = ("median", "p90", "mean")


def percent(numerator: int, denominator: int) -> float | None:
    """Return numerator / denominator as a percentage with one decimal (None without a denominator)."""
    if denominator <= 0:
        return None
    return (numerator * 1000 + denominator // 2) // denominator / 10


def rate_figures(numerator: int, denominator: int) -> dict[str, Any]:
    """Return the figures of a rate: both counts and the percentage."""
    return {"numerator": numerator, "denominator": denominator, "percent": percent(numerator, denominator)}


def count_figures(count: int | float, rows: int | None = None) -> dict[str, Any]:
    """Return the figures of a count (`rows` = the rows added up, for a sum)."""
    return {"count": count} if rows is None else {"count": count, "rows": rows}


def duration_figures(seconds: Sequence[int | float], aggregations: Sequence[str]) -> dict[str, Any]:
    """Return n and each aggregation in seconds and in minutes (None when there are no rows)."""
    ordered = sorted(seconds)
    figures: dict[str, Any] = {"n": len(ordered)}
    for name in aggregations:
        value = _aggregate(name, ordered) if ordered else None
        figures[f"{name}_s"] = value
        figures[f"{name}_min"] = None if value is None else round(value / 60, 1)
    return figures


def _aggregate(name: str, ordered: Sequence[int | float]) -> int | float:
    if name == "median":
        return median(ordered)
    if name == "p90":
        return nearest_rank(ordered, 90)
    return round(sum(ordered) / len(ordered), 1)


def median(ordered: Sequence[int | float]) -> int | float:
    """Return the median of sorted values (the mean of the two middle ones for an even count)."""
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    value = (ordered[middle - 1] + ordered[middle]) / 2
    return int(value) if float(value).is_integer() else value


def nearest_rank(ordered: Sequence[int | float], pct: int) -> int | float:
    """Return the nearest-rank percentile of sorted values: the ceil(pct/100 * n)-th smallest."""
    rank = max(1, -(-pct * len(ordered) // 100))
    return ordered[rank - 1]


def number(value: Any) -> int | float | None:
    """Return the real number inside a stored value, or None (booleans are not numbers)."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
