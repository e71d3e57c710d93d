"""The receiver's summary page: the template's metrics across all agencies, small cells suppressed."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template_string, request

from sync.receiver.ingest import TemplateCatalog
from sync.receiver.store import ReceiverStore, current_bodies

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>State receiver summary</title></head>
<body>
<h1>State receiver: {{ title }}</h1>
<p>Encounters held: {{ counts.records }} ({{ counts.versions }} record versions).
Agencies: {{ counts.agencies }}. Refused submissions: {{ counts.rejections }}.
Cells under {{ suppress_below }} are shown as &lt;{{ suppress_below }}.</p>
<table>
<thead><tr><th>Metric</th><th>Kind</th><th>Figures</th></tr></thead>
<tbody>
{% for m in metrics %}<tr><td>{{ m.label }}</td><td>{{ m.kind }}</td><td>{{ m.figures }}</td></tr>
{% endfor %}</tbody>
</table>
</body></html>
"""
SKIP = frozenset({"id", "label", "kind", "unit", "breakdowns", "fields"})


def register_summary(app: Flask, store: ReceiverStore, catalog: TemplateCatalog) -> None:
    """Add GET / (HTML, or JSON with ?format=json)."""

    @app.get("/")
    def summary() -> Response | str:
        data = summarize(store, catalog)
        if request.args.get("format") == "json":
            return Response(_dumps(data), mimetype="application/json")
        rows = [
            {"label": m.get("label", key), "kind": m.get("kind", ""), "figures": figures(m)}
            for key, m in data["metrics"].items()
        ]
        return render_template_string(
            PAGE,
            title=catalog.current.title,
            counts=data["counts"],
            metrics=rows,
            suppress_below=catalog.current.parameters.get("suppress_below", 11),
        )


def summarize(store: ReceiverStore, catalog: TemplateCatalog) -> dict[str, Any]:
    """Return counts of what is held and the suppressed metrics over current records."""
    from forms.metrics import compute_metrics

    db = store.connect()
    counts = {
        "records": db.execute("SELECT COUNT(*) FROM current_records").fetchone()[0],
        "versions": db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0],
        "agencies": db.execute("SELECT COUNT(DISTINCT agency_id) FROM current_records").fetchone()[0],
        "rejections": db.execute("SELECT COUNT(*) FROM rejections").fetchone()[0],
    }
    result = compute_metrics(catalog.current, list(current_bodies(db)), suppress=True)
    return {"counts": counts, "metrics": result.get("metrics", {}), "period": result.get("period")}


def figures(metric: dict[str, Any]) -> str:
    """Return a metric's scalar figures as 'name value' pairs."""
    parts = [
        f"{key} {value}"
        for key, value in metric.items()
        if key not in SKIP and isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    return ", ".join(parts) or ("suppressed" if metric.get("suppressed") else "-")


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, default=str)
