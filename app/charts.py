"""Server-side SVG charts: horizontal bars for breakdowns, weekly columns and a weekly line.

No script and no CDN: each chart is inline SVG that scales to its container (viewBox),
draws with `currentColor` and the page's CSS variables (classes in supervisor.css), so it
follows dark mode, and carries a <title> for screen readers. Small cells (fewer than the
suppression threshold) are drawn as dashed outlines and say so in their text; hidden
values (suppressed) leave an empty slot with their text (e.g. "<11").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
ROW = 30
LABEL_END = 230
BAR_START = 238
BAR_END = 500
PLOT_TOP = 16
PLOT_HEIGHT = 160
PLOT_LEFT = 48
PLOT_RIGHT = 628
MAX_LABEL = 26


@dataclass(frozen=True)
class Bar:
    """One bar or point: its label, its value (None when hidden), the text shown, and whether it is small."""

    label: str
    value: float | None
    text: str
    small: bool = False


def bar_chart(bars: Sequence[Bar], *, chart_id: str, title: str) -> Markup:
    """Return a horizontal bar chart, one row per bar, values scaled to the largest."""
    top = max([b.value for b in bars if b.value is not None] + [0.0])
    height = ROW * len(bars) + 8
    parts = [_open(chart_id, title, WIDTH, height)]
    for index, bar in enumerate(bars):
        y = index * ROW + 4
        length = 0.0 if not top or bar.value is None else (BAR_END - BAR_START) * bar.value / top
        parts.append(_label(bar.label, LABEL_END, y + ROW / 2 + 5, "end"))
        if bar.value is not None:
            parts.append(_rect(BAR_START, y + 4, max(length, 1.0), ROW - 10, bar.small, bar.label, bar.text))
        parts.append(_text(bar.text, BAR_START + length + 6, y + ROW / 2 + 5, "value"))
    axis = Markup('<line class="axis" x1="{0}" y1="0" x2="{0}" y2="{1}" stroke="currentColor"/>')
    parts.append(axis.format(BAR_START, height))
    return Markup("").join(parts) + Markup("</svg>")


def column_chart(points: Sequence[Bar], *, chart_id: str, title: str) -> Markup:
    """Return vertical columns over time (e.g. encounters per week)."""
    top = max([p.value for p in points if p.value is not None] + [0.0])
    parts = [_open(chart_id, title, WIDTH, PLOT_TOP + PLOT_HEIGHT + 40), *_frame(top)]
    step = (PLOT_RIGHT - PLOT_LEFT) / max(len(points), 1)
    for index, point in enumerate(points):
        x = PLOT_LEFT + index * step
        if point.value and top:
            tall = PLOT_HEIGHT * point.value / top
            parts.append(
                _rect(
                    x + step * 0.15,
                    PLOT_TOP + PLOT_HEIGHT - tall,
                    step * 0.7,
                    max(tall, 1.0),
                    point.small,
                    point.label,
                    point.text,
                )
            )
        elif point.value is None:
            parts.append(_text(point.text, x + step / 2, PLOT_TOP + PLOT_HEIGHT - 4, "value", "middle"))
        parts += _tick(point.label, x + step / 2, index, len(points))
    return Markup("").join(parts) + Markup("</svg>")


def line_chart(points: Sequence[Bar], *, chart_id: str, title: str) -> Markup:
    """Return a line over time with a dot per value; hidden values break the line."""
    top = max([p.value for p in points if p.value is not None] + [0.0])
    parts = [_open(chart_id, title, WIDTH, PLOT_TOP + PLOT_HEIGHT + 40), *_frame(top)]
    step = (PLOT_RIGHT - PLOT_LEFT) / max(len(points), 1)
    segment: list[str] = []
    for index, point in enumerate(points):
        x = PLOT_LEFT + index * step + step / 2
        if point.value is None or not top:
            parts.append(_polyline(segment))
            segment = []
        else:
            y = PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * point.value / top
            segment.append(f"{x:.1f},{y:.1f}")
            css = "dot small" if point.small else "dot"
            parts.append(
                Markup(
                    '<circle class="{}" cx="{:.1f}" cy="{:.1f}" r="5" fill="currentColor">'
                    "<title>{}: {}</title></circle>"
                ).format(css, x, y, point.label, point.text)
            )
        parts += _tick(point.label, x, index, len(points))
    parts.append(_polyline(segment))
    return Markup("").join(parts) + Markup("</svg>")


def _open(chart_id: str, title: str, width: int, height: float) -> Markup:
    return Markup(
        '<svg class="chart" id="{0}" viewBox="0 0 {1} {2:.0f}" width="100%" role="img" '
        'aria-labelledby="{0}-title" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{0}-title">{3}</title>'
    ).format(chart_id, width, height, title)


def _frame(top: float) -> list[Markup]:
    """Return the axes and the top value of a time chart."""
    bottom = PLOT_TOP + PLOT_HEIGHT
    return [
        Markup('<line class="axis" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="currentColor"/>').format(
            PLOT_LEFT, PLOT_TOP, bottom
        ),
        Markup('<line class="axis" x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="currentColor"/>').format(
            PLOT_LEFT, bottom, PLOT_RIGHT
        ),
        _text(_number(top), PLOT_LEFT - 6, PLOT_TOP + 5, "tick", "end"),
        _text("0", PLOT_LEFT - 6, bottom + 5, "tick", "end"),
    ]


def _tick(label: str, x: float, index: int, count: int) -> list[Markup]:
    """Return an x label, thinned out so that at most about 8 labels show."""
    every = max(1, -(-count // 8))
    if index % every and index != count - 1:
        return []
    return [_text(label, x, PLOT_TOP + PLOT_HEIGHT + 22, "tick", "middle")]


def _rect(x: float, y: float, width: float, height: float, small: bool, label: str, text: str) -> Markup:
    css = "bar small" if small else "bar"
    shape = Markup(
        '<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" rx="3" '
        'fill="currentColor"><title>{}: {}</title></rect>'
    )
    return shape.format(css, x, y, width, height, label, text)


def _polyline(points: list[str]) -> Markup:
    if len(points) < 2:
        return Markup("")
    return Markup(
        '<polyline class="line" points="{}" fill="none" stroke="currentColor" stroke-width="3"/>'
    ).format(" ".join(points))


def _label(text: str, x: float, y: float, anchor: str) -> Markup:
    shown = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return Markup(
        '<text class="label" x="{:.1f}" y="{:.1f}" text-anchor="{}" fill="currentColor">{}'
        "<title>{}</title></text>"
    ).format(x, y, anchor, shown, text)


def _text(text: str, x: float, y: float, css: str, anchor: str = "start") -> Markup:
    shape = Markup('<text class="{}" x="{:.1f}" y="{:.1f}" text-anchor="{}" fill="currentColor">{}</text>')
    return shape.format(css, x, y, anchor, escape(text))


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
