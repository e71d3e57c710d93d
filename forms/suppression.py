"""Small-cell suppression for figures shared outside the agency.

A cell is small when a count is 1 to k-1 (k = the template's `suppress_below`, default
11): a count (or the rows a sum adds up), a rate's numerator or denominator, a
duration's n. Zero is shown. In a small cell every count figure below k becomes the
string "<k" (e.g. "<11"), derived figures (percent, median, p90, mean) become None, and
the cell is flagged `"suppressed": true`. Within a breakdown, when exactly one cell is
small, the next-smallest non-zero cell is hidden as well (complementary suppression) so
that the total cannot give the first one away: its hidden figures become None and it is
flagged `"suppressed": true, "complementary": true`.
"""

from __future__ import annotations

from typing import Any

DEFAULT_SUPPRESS_BELOW = 11

COUNT_FIGURES: dict[str, tuple[str, ...]] = {
    "count": ("count", "rows"),
    "rate": ("numerator", "denominator"),
    "completeness": ("numerator", "denominator"),
    "duration": ("n",),
}
DERIVED_FIGURES: dict[str, tuple[str, ...]] = {
    "count": (),
    "rate": ("percent",),
    "completeness": ("percent",),
    "duration": ("median_s", "median_min", "p90_s", "p90_min", "mean_s", "mean_min"),
}

Figures = dict[str, Any]


def small_figures(kind: str, figures: Figures, below: int) -> tuple[str, ...]:
    """Return the count figures to hide when the cell is small, else an empty tuple."""
    keys = [k for k in COUNT_FIGURES[kind] if isinstance(figures.get(k), int | float)]
    if not any(0 < figures[k] < below for k in keys):
        return ()
    if kind == "count":
        return tuple(keys)  # a sum of few rows can be large and still identify them
    return tuple(k for k in keys if figures[k] < below)


def suppress(kind: str, figures: Figures, below: int) -> Figures:
    """Return the figures of one cell with small counts hidden and the `suppressed` flag."""
    hidden = small_figures(kind, figures, below)
    return _hide(kind, figures, hidden, f"<{below}") if hidden else {**figures, "suppressed": False}


def suppress_cells(kind: str, cells: list[Figures], below: int) -> list[Figures]:
    """Return breakdown cells suppressed one by one, plus a complementary cell when one is small."""
    hidden = [small_figures(kind, c, below) for c in cells]
    small = [i for i, h in enumerate(hidden) if h]
    shown = [
        _hide(kind, c, h, f"<{below}") if h else {**c, "suppressed": False}
        for c, h in zip(cells, hidden, strict=True)
    ]
    if len(small) == 1:
        partner = _next_smallest(kind, cells, small[0], hidden[small[0]])
        if partner is not None:
            shown[partner] = {**_hide(kind, cells[partner], hidden[small[0]], None), "complementary": True}
    return shown


def _next_smallest(kind: str, cells: list[Figures], first: int, hidden: tuple[str, ...]) -> int | None:
    """Return the index of the smallest other non-zero cell, ranked by the figures hidden in the first."""
    keys = hidden or COUNT_FIGURES[kind]
    candidates = [
        (tuple(c.get(k) or 0 for k in keys), i)
        for i, c in enumerate(cells)
        if i != first and any(isinstance(c.get(k), int | float) and c[k] > 0 for k in keys)
    ]
    return min(candidates)[1] if candidates else None


def _hide(kind: str, figures: Figures, hidden: tuple[str, ...], shown_as: str | None) -> Figures:
    out = dict(figures)
    for key in hidden:
        out[key] = shown_as
    for key in DERIVED_FIGURES[kind]:
        if key in out:
            out[key] = None
    out["suppressed"] = True
    return out
