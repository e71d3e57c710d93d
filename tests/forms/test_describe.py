"""A data manager sees what a template holds and what a new version changes."""

from __future__ import annotations

from typing import Any

from forms.describe import diff_templates, summarize
from forms.loader import load_shipped_template, load_template_data
from forms.model import Template


def test_summary_counts_sections_fields_lists_rules_and_metrics(small: Template) -> None:
    assert summarize(small).splitlines() == [
        "test-standard 1.0: Test template (effective 2026-01-01)",
        "Sections: 3 (Call, People, Wrap-up)",
        "Fields: 30 (28 core, 2 extended); 20 per encounter, 10 per row of persons",
        "Repeat groups: persons (1-3 rows)",
        "Code lists: 11 (1 external, 32 codes)",
        "NOT values: 2; pertinent negatives: 3",
        "Named filters: 5; derived values: 3; parameters: 2",
        "Rules: 13 (5 ERROR, 3 FATAL, 5 WARNING)",
        "Metrics: 5; breakdown sets: 2",
    ]


def test_summary_of_the_shipped_template_names_it() -> None:
    summary = summarize(load_shipped_template())
    assert summary.startswith("state-standard 2026.1: ")
    assert "Rules: 25 (14 ERROR, 3 FATAL, 8 WARNING)" in summary


def test_identical_templates_have_no_differences(small: Template, data: dict[str, Any]) -> None:
    assert diff_templates(small, load_template_data(data)) == []


def test_diff_lists_every_kind_of_change(small: Template, data: dict[str, Any]) -> None:
    data["template"]["version"] = "1.1"
    fields = {f["id"]: f for f in data["fields"]}
    fields["incident_zip"]["usage"] = "Rec"
    fields["distance_km"]["type"] = "integer"
    data["fields"].remove(fields["gps_location"])
    data["fields"].append({**fields["narrative"], "id": "team_notes", "label": "Team notes", "usage": "O"})
    data["code_lists"]["needs"]["codes"].append({"code": "grief_trauma", "label": "Grief"})
    data["code_lists"]["referrals"]["codes"] = data["code_lists"]["referrals"]["codes"][:2] + [
        {"code": "no_referral", "label": "None"}
    ]
    data["code_lists"]["response_delay"]["codes"].pop(2)
    data["rules"] = [r for r in data["rules"] if r["id"] != "R24"]
    next(r for r in data["rules"] if r["id"] == "R21")["severity"] = "ERROR"
    next(r for r in data["rules"] if r["id"] == "R01")["fields"].pop(1)
    data["metrics"].append({"id": "phone_rate", "label": "Phone", "kind": "count", "unit": "encounter"})
    data["parameters"]["response_target_s"] = 900
    assert diff_templates(small, load_template_data(data)) == [
        "template: test-standard 1.0 -> test-standard 1.1",
        "field added: 'team_notes' (text, O, core)",
        "field removed: 'gps_location'",
        "field 'incident_zip': usage R -> Rec",
        "field 'distance_km': type number -> integer",
        "code list 'needs': code added 'grief_trauma'",
        "code list 'referrals': code 'no_referral' relabelled 'No referral' -> 'None'",
        "code list 'response_delay': code removed 'distance'",
        "parameter 'response_target_s' changed: 1200 -> 900",
        "rule removed: 'R24'",
        "rule 'R01': check changed",
        "rule 'R21': severity WARNING -> ERROR",
        "metric added: 'phone_rate' (count per encounter)",
    ]
