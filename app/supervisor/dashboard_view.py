"""Turn a dashboard report into what the page shows: metric cards, breakdown bars, weekly charts.

Small cells are marked: with suppression (the default, as the state would publish) they
read "<11"; with exact figures they show their numbers with a "small" mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from app.charts import Bar, bar_chart, column_chart, line_chart
from forms.metrics import expand_breakdowns
from forms.model import Template
from forms.suppression import small_figures

CHART_FIGURE = {"rate": "percent", "completeness": "percent", "count": "count", "duration": "median_min"}
MONTH = "month"


@dataclass
class Card:
    """One metric as shown: headline, detail line, marks, data for tests and tools, and its breakdown."""

    id: str
    label: str
    kind: str
    headline: str
    detail: str
    small: bool
    data: dict[str, Any]
    note: str = ""
    chart: Markup | None = None
    cells: list[tuple[str, str, bool]] = field(default_factory=list)


def dimensions(template: Template) -> list[tuple[str, str]]:
    """Return every breakdown dimension the template's metrics name, with a label, in first-use order."""
    seen: dict[str, str] = {}
    for metric in template.metrics:
        for dim in expand_breakdowns(template, metric.breakdowns):
            if dim != "field" and dim not in seen:
                seen[dim] = dimension_label(template, dim)
    return list(seen.items())


def dimension_label(template: Template, dim: str) -> str:
    """Return a breakdown dimension's label: a field's, an output's field's, a filter's name, or the month."""
    if dim == MONTH:
        return str(_("Month"))
    if dim in template.fields:
        return template.fields[dim].label
    for f in template.fields.values():
        if f.generalize is not None and f.generalize.output == dim:
            return f.label
    return dim.replace("_", " ").capitalize()


def cards(template: Template, report: dict[str, Any], by: str | None, exact: bool) -> list[Card]:
    """Return one card per metric of the report, in template order."""
    below = int(report["metrics"]["period"]["suppress_below"])
    found = []
    for metric in template.metrics:
        result = report["metrics"]["metrics"].get(metric.id)
        if result is None:
            continue
        card = _card(result, below, exact)
        if by and by in expand_breakdowns(template, metric.breakdowns) and by in result.get("breakdowns", {}):
            _add_breakdown(card, template, result, by, below, exact)
        found.append(card)
    return found


def _card(result: dict[str, Any], below: int, exact: bool) -> Card:
    kind = result["kind"]
    figures = {
        k: v for k, v in result.items() if k not in ("id", "label", "kind", "unit", "breakdowns", "fields")
    }
    headline, detail = describe(kind, figures)
    card = Card(
        result["id"],
        result["label"] or result["id"],
        kind,
        headline,
        detail,
        _small(kind, figures, below, exact),
        figures,
    )
    if result.get("pending"):
        card.headline, card.detail = (
            "…",
            _("Available after %(when)s", when=str(result.get("available_after", ""))[:10]),
        )
    elif result.get("through"):
        card.note = _(
            "Counts encounters through %(day)s (the follow-up window must pass).", day=result["through"]
        )
    return card


def describe(kind: str, figures: dict[str, Any]) -> tuple[str, str]:
    """Return (headline, detail) words for a metric's figures."""
    if kind in ("rate", "completeness"):
        pct = figures.get("percent")
        return (
            f"{pct}%" if pct is not None else "—",
            _("%(num)s of %(den)s", num=figures.get("numerator"), den=figures.get("denominator")),
        )
    if kind == "duration":
        median, p90 = figures.get("median_min"), figures.get("p90_min")
        head = _("%(m)s min", m=median) if median is not None else "—"
        p90_text = _("%(m)s min", m=p90) if p90 is not None else "—"
        return head, _("median; 90th percentile %(p90)s; n = %(n)s", p90=p90_text, n=figures.get("n"))
    rows = figures.get("rows")
    return str(figures.get("count")), (_("from %(n)s records", n=rows) if rows is not None else "")


def _small(kind: str, figures: dict[str, Any], below: int, exact: bool) -> bool:
    if not exact:
        return bool(figures.get("suppressed"))
    return bool(small_figures(kind, figures, below))


def _add_breakdown(
    card: Card,
    template: Template,
    result: dict[str, Any],
    by: str,
    below: int,
    exact: bool,
) -> None:
    bars = []
    cells = result["breakdowns"][by]
    for cell in cells:
        label = cell_label(template, by, cell["value"])
        headline, detail = describe(card.kind, cell)
        small = _small(card.kind, cell, below, exact)
        value = cell.get(CHART_FIGURE[card.kind])
        text = f"{headline} ({detail})" if detail else headline
        bars.append(Bar(label, value if isinstance(value, int | float) else None, text, small))
        card.cells.append((label, f"{headline} · {detail}" if detail else headline, small))
    card.chart = bar_chart(
        bars, chart_id=f"chart-{card.id}", title=f"{card.label} · {dimension_label(template, by)}"
    )


def cell_label(template: Template, dim: str, value: Any) -> str:
    """Return a breakdown cell's label: a code's label, Yes/No, or "Not answered"."""
    if value is None:
        return str(_("Not answered"))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    spec = template.fields.get(dim) or next(
        (f for f in template.fields.values() if f.generalize is not None and f.generalize.output == dim), None
    )
    lists = [template.code_lists.get(dim), template.code_lists.get(spec.code_list or "") if spec else None]
    for codes in (c for c in lists if c is not None):
        for code in codes.codes:
            if code.code == value:
                return code.label
    not_value = template.not_values.get(str(value))
    return not_value.label if not_value else str(value)


def weekly_charts(report: dict[str, Any], exact: bool) -> dict[str, Any]:
    """Return the weekly volume columns, the weekly median response-time line, and their table."""
    below = int(report["metrics"]["period"]["suppress_below"])
    volume, response, table = [], [], []
    for week in report["weekly"]:
        count, duration = week.get("encounter_volume", {}), week.get("response_time", {})
        value, median = count.get("count"), duration.get("median_min")
        label = week["week"][5:]
        volume.append(
            Bar(
                label,
                value if isinstance(value, int) else None,
                str(value),
                _small("count", count, below, exact),
            )
        )
        response.append(
            Bar(
                label,
                median,
                _("%(m)s min", m=median) if median is not None else str(duration.get("n")),
                _small("duration", duration, below, exact),
            )
        )
        table.append((week["week"], value, median, duration.get("n")))
    return {
        "volume": column_chart(volume, chart_id="chart-weekly-volume", title=_("Encounters per week")),
        "response": line_chart(
            response, chart_id="chart-weekly-response", title=_("Median response time per week (minutes)")
        ),
        "table": table,
        "shown": bool(report["weekly"]),
    }
