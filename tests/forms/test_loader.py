"""A state data manager gets every problem of a template file at once, each one actionable."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forms.loader import (
    TemplateError,
    load_shipped_template,
    load_template,
    load_template_data,
    shipped_template_path,
)

Change = Callable[[dict[str, Any]], None]


def field_entry(data: dict[str, Any], fid: str) -> dict[str, Any]:
    """Return the entry of a field in template data, to change it."""
    return next(f for f in data["fields"] if f["id"] == fid)


def rule_entry(data: dict[str, Any], rid: str) -> dict[str, Any]:
    """Return the entry of a rule in template data, to change it."""
    return next(r for r in data["rules"] if r["id"] == rid)


def load_errors(data: dict[str, Any], source: str = "state.toml") -> list[str]:
    """Return the loader's errors for data that must not load."""
    with pytest.raises(TemplateError) as caught:
        load_template_data(data, source)
    return caught.value.errors


def test_small_template_loads_with_fields_sections_and_groups(small: Any) -> None:
    assert small.id == "test-standard"
    assert small.fields["age_years"].group == "persons"
    assert small.fields["call_source"].group is None
    assert [f.id for f in small.fields_in("wrapup")] == ["narrative", "attested"]
    assert small.groups["persons"].row_name(0) == "Person 1"


def test_usage_levels_get_their_documented_default_not_values(small: Any) -> None:
    assert small.fields["en_route_at"].not_values == ("not_applicable", "not_recorded")
    assert small.fields["race_ethnicity"].not_values == ("not_applicable", "not_recorded")
    assert small.fields["call_source"].not_values == ()
    assert small.fields["street_address"].not_values == ()


def test_template_json_is_the_data_as_written(small: Any, data: dict[str, Any]) -> None:
    assert small.to_json() == data
    assert json.loads(json.dumps(small.to_json())) == small.to_json()


def test_loading_data_never_changes_the_callers_dict(data: dict[str, Any]) -> None:
    before = json.dumps(data)
    template = load_template_data(data)
    template.to_json()["fields"].clear()
    assert json.dumps(data) == before


def test_json_file_loads_like_toml(tmp_path: Path, small: Any, data: dict[str, Any]) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_template(path).fields.keys() == small.fields.keys()


MINIMAL_TOML = """
[template]
id = "tiny"
version = "1"
title = "Tiny"
effective_date = "2026-01-01"

[[not_values]]
code = "not_recorded"
label = "Not recorded"
kind = "not"

[[sections]]
id = "call"
title = "Call"

[[fields]]
id = "call_source"
section = "call"
label = "Call source"
type = "enum"
code_list = "call_source"
usage = "M"
tier = "core"
input = "tap"
privacy = "metric"
to_state = "send"

[code_lists.call_source]
codes = [{ code = "911", label = "911" }]
"""


def test_toml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(MINIMAL_TOML, encoding="utf-8")
    template = load_template(path)
    assert template.code_lists["call_source"].has("911")
    assert template.rules == ()


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.write_text(MINIMAL_TOML.replace('title = "Call"', 'title = "Call'), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith("state.toml: TOML syntax error: ")
    assert "(at line 15, column 14)" in caught.value.errors[0]


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"template": {\n  "id": "x",\n}', encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert caught.value.errors[0].startswith("state.json: JSON syntax error: ")
    assert "line 3" in caught.value.errors[0]


def test_unquoted_toml_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.write_text(MINIMAL_TOML.replace('effective_date = "2026-01-01"', "effective_date = 2026-01-01"))
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert (
        "state.toml: template.effective_date: dates and times must be written as quoted "
        "strings, got 2026-01-01" in (caught.value.errors)
    )


def test_missing_file_is_reported_not_raised_as_oserror(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        load_template(tmp_path / "absent.toml")
    assert caught.value.errors == ["absent.toml: cannot read the file (No such file or directory)"]


def _set(path: str, value: Any) -> Change:
    """Return a change setting data[path] (dotted, with field:/rule: prefixes) to value."""

    def change(data: dict[str, Any]) -> None:
        kind, _, rest = path.partition(":")
        target = {"field": lambda i: field_entry(data, i), "rule": lambda i: rule_entry(data, i)}.get(kind)
        if target is not None:
            ident, _, key = rest.partition(".")
            target(ident)[key] = value
            return
        *parents, last = path.split(".")
        _walk(data, parents)[_key(last)] = value

    return change


def _delete(path: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        del _walk(data, parents)[_key(last)]

    return change


def _key(part: str) -> Any:
    return int(part) if part.isdigit() else part


def _walk(node: Any, parts: list[str]) -> Any:
    for part in parts:
        node = node[_key(part)]
    return node


def _duplicate_sex(data: dict[str, Any]) -> None:
    data["fields"].append({**field_entry(data, "age_years"), "label": "Age again"})


def _misspelt_code_label(data: dict[str, Any]) -> None:
    data["code_lists"]["needs"]["codes"][1] = {"code": "suspected_overdose", "lable": "Overdose"}


def _filter_named_like_a_field(data: dict[str, Any]) -> None:
    data["filters"]["call_source"] = {"use": "contact"}
    data["metrics"][0]["breakdowns"] = ["call_source"]


def _repeated_code(data: dict[str, Any]) -> None:
    data["code_lists"]["needs"]["codes"].append({"code": "suspected_overdose", "label": "Overdose"})


def _generalize(data: dict[str, Any]) -> None:
    field_entry(data, "incident_zip")["generalize"] = {"method": "zip9", "output": "incident_zip3"}


FIELD_KEYS = (
    "id, section, label, help, type, code_list, usage, tier, input, now_button, "
    "privacy, to_state, generalize, "
    "relevant, not_values, pertinent_negatives, min, max, max_length, pattern, "
    "min_items, must_be_true, default, "
    "auto_value, nemsis, label_i18n, help_i18n"
)

ERRORS: list[tuple[str, Change, str]] = [
    (
        "undefined code list",
        _set("field:primary_need.code_list", "police_reasons"),
        "state.toml: field 'primary_need': code list 'police_reasons' is not defined",
    ),
    (
        "unknown key",
        _set("field:age_years.maxx", 130),
        f"state.toml: field 'age_years': unknown key 'maxx' (allowed: {FIELD_KEYS})",
    ),
    (
        "duplicate id",
        _duplicate_sex,
        "state.toml: field 'age_years': duplicate id (also defined at fields[19])",
    ),
    (
        "relevance names unknown field",
        _set("field:naloxone_doses.relevant", {"field": "foo", "op": "is_set"}),
        "state.toml: field 'naloxone_doses': relevant: condition names unknown field 'foo'",
    ),
    (
        "metric filter names unknown field",
        _set("metrics.0.filter", {"field": "zzz", "op": "is_set"}),
        "state.toml: metric 'encounter_volume': filter: condition names unknown field 'zzz'",
    ),
    (
        "unknown severity",
        _set("rule:R07.severity", "FATALL"),
        "state.toml: rule 'R07': unknown severity 'FATALL' (allowed: FATAL, ERROR, WARNING)",
    ),
    (
        "unknown op",
        _set(
            "field:naloxone_doses.relevant", {"field": "naloxone_administered", "op": "equals", "value": True}
        ),
        "state.toml: field 'naloxone_doses': relevant: unknown op 'equals' (allowed: "
        "eq, ne, in, not_in, lt, le, gt, ge, "
        "is_true, is_false, is_set, is_not_set)",
    ),
    (
        "unknown named filter",
        _set("rule:R06.when", {"use": "in_persn"}),
        "state.toml: rule 'R06': when: unknown named filter 'in_persn'",
    ),
    (
        "unknown param",
        _set("metrics.2.numerator", {"field": "response_s", "op": "le", "value": {"param": "target"}}),
        "state.toml: metric 'response_within_target': numerator: unknown param 'target'",
    ),
    (
        "bad type",
        _set("field:age_years.type", "int"),
        "state.toml: field 'age_years': unknown type 'int' (allowed: text, integer, "
        "number, boolean, date, datetime, "
        "enum, multi_enum, geo)",
    ),
    (
        "bad usage",
        _set("field:age_years.usage", "Required"),
        "state.toml: field 'age_years': unknown usage 'Required' (allowed: M, R, Rec, O)",
    ),
    (
        "bad privacy",
        _set("field:age_years.privacy", "secret"),
        "state.toml: field 'age_years': unknown privacy 'secret' (allowed: pii, sensitive, metric)",
    ),
    (
        "bad to_state",
        _set("field:narrative.to_state", "drop"),
        "state.toml: field 'narrative': unknown to_state 'drop' (allowed: send, generalize, derive, never)",
    ),
    (
        "bad tier",
        _set("field:narrative.tier", "optional"),
        "state.toml: field 'narrative': unknown tier 'optional' (allowed: core, extended)",
    ),
    (
        "generalize missing",
        _delete("fields.9.generalize"),
        "state.toml: field 'psap_incident_id': to_state 'generalize' needs a generalize "
        "table (method, output)",
    ),
    (
        "generalize method unknown",
        _generalize,
        "state.toml: field 'incident_zip': generalize: unknown method 'zip9' (allowed: "
        "age_band, zip3, hmac, icd10_category)",
    ),
    (
        "code list on a non-enum",
        _set("field:narrative.code_list", "needs"),
        "state.toml: field 'narrative': code_list applies only to type enum or multi_enum, not text",
    ),
    (
        "enum without code list",
        _delete("fields.0.code_list"),
        "state.toml: field 'call_source': type enum needs a code_list",
    ),
    (
        "section unknown",
        _set("field:narrative.section", "wrap_up"),
        "state.toml: field 'narrative': section 'wrap_up' is not defined",
    ),
    (
        "group unknown",
        _set("sections.1.group", "people_served"),
        "state.toml: section 'people': group 'people_served' is not defined",
    ),
    (
        "invalid regex",
        _set("field:incident_zip.pattern", "^[0-9{5}$"),
        "state.toml: field 'incident_zip': pattern '^[0-9{5}$' is not a valid regular expression "
        "(unterminated character set at position 1)",
    ),
    ("missing template key", _delete("template.version"), "state.toml: template: missing key 'version'"),
    ("missing top-level part", _delete("fields"), "state.toml: template file: missing key 'fields'"),
    (
        "rule names unknown field",
        _set("rule:R01.fields", ["unit_notified_at", "on_scene_at"]),
        "state.toml: rule 'R01': names unknown field 'on_scene_at'",
    ),
    (
        "rule kind needs a key",
        _delete("rules.3.group"),
        "state.toml: rule 'R05': kind 'rows' needs key 'group'",
    ),
    (
        "row field at encounter level",
        _delete("rules.7.level"),
        "state.toml: rule 'R16': 'primary_need' is a field of group 'persons'; set level = \"persons\"",
    ),
    (
        "not value missing from catalogue",
        _set("field:age_years.pertinent_negatives", ["declined"]),
        "state.toml: field 'age_years': pertinent_negatives: 'declined' is not in the not_values catalogue",
    ),
    (
        "NOT value on an M field",
        _set("field:call_source.not_values", ["not_recorded"]),
        "state.toml: field 'call_source': usage M never allows NOT values (remove not_values)",
    ),
    (
        "R field without not_recorded",
        _set("field:incident_zip.not_values", ["not_applicable"]),
        "state.toml: field 'incident_zip': usage R needs 'not_recorded' in not_values "
        "(a blank R answer becomes "
        "not_recorded)",
    ),
    (
        "condition compares with a code not in the list",
        _set("filters.on_scene.value", "phone"),
        "state.toml: filter 'on_scene': 'contact_mode' is compared with 'phone', which is not a code of list "
        "'contact_mode'",
    ),
    (
        "filter uses itself",
        _set("filters.contact", {"any": [{"use": "in_person"}]}),
        "state.toml: filter 'contact': uses itself (contact -> in_person -> contact)",
    ),
    (
        "default of the wrong type",
        _set("field:age_years.default", "thirty"),
        "state.toml: field 'age_years': default 'thirty' does not fit the field (enter "
        "a whole number from 0 to 120.)",
    ),
    (
        "exclusive code not in list",
        _set("rule:R17.items", [{"field": "referrals", "code": "nothing"}]),
        "state.toml: rule 'R17': items[0]: 'nothing' is not a code of multi_enum field 'referrals'",
    ),
    (
        "unknown breakdown",
        _set("metrics.0.breakdowns", ["ENCOUNTER"]),
        "state.toml: metric 'encounter_volume': breakdown 'ENCOUNTER' is neither a breakdown set, a named "
        "filter nor a field",
    ),
    (
        "unknown name in a breakdown set",
        _set("breakdowns.ENC", ["month", "in_persons"]),
        "state.toml: breakdown 'ENC': 'in_persons' is neither a breakdown set, a named filter nor a field",
    ),
    (
        "breakdown by a filter named like a field",
        _filter_named_like_a_field,
        "state.toml: metric 'encounter_volume': breakdown 'call_source' is both a named filter and a field; "
        "rename the filter",
    ),
    (
        "misspelt key in a code",
        _misspelt_code_label,
        "state.toml: code list 'needs': codes[1]: unknown key 'lable' "
        "(allowed: code, label, nemsis, label_i18n)",
    ),
    (
        "code without label",
        _misspelt_code_label,
        "state.toml: code list 'needs': codes[1]: missing key 'label'",
    ),
    (
        "repeated code",
        _repeated_code,
        "state.toml: code list 'needs': duplicate code 'suspected_overdose' (codes[3])",
    ),
    (
        "output id reused",
        _set("field:age_years.generalize", {"method": "age_band", "output": "needs"}),
        "state.toml: generalize output 'needs': id is already used by field 'needs'",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_each_problem_is_reported_with_file_section_id_and_what_is_wrong(
    change: Change, expected: str, data: dict[str, Any]
) -> None:
    change(data)
    assert expected in load_errors(data)


def test_every_problem_is_reported_at_once(data: dict[str, Any]) -> None:
    for _, change, _ in ERRORS[:6]:
        change(data)
    errors = load_errors(data)
    assert all(expected in errors for _, _, expected in ERRORS[:6])


def test_a_broken_template_raises_and_returns_nothing(data: dict[str, Any]) -> None:
    field_entry(data, "age_years")["usage"] = "Required"
    with pytest.raises(TemplateError) as caught:
        load_template_data(data, "state.toml")
    assert str(caught.value) == "\n".join(caught.value.errors)


def test_error_names_entries_without_id_by_position(data: dict[str, Any]) -> None:
    del data["fields"][2]["id"]
    assert "state.toml: field fields[2]: missing key 'id'" in load_errors(data)


def test_a_named_filter_is_a_breakdown_dimension_of_a_metric_or_a_set(data: dict[str, Any]) -> None:
    data["metrics"][1]["breakdowns"] = ["in_person", "ENC"]
    data["breakdowns"]["ENC"] = ["month", "contact"]
    template = load_template_data(data, "state.toml")
    assert template.metrics[1].breakdowns == ("in_person", "ENC")
    assert template.breakdowns["ENC"] == ("month", "contact")


def test_shipped_template_loads() -> None:
    template = load_template(shipped_template_path())
    assert template.id == "state-standard"
    assert load_shipped_template() is load_shipped_template()
