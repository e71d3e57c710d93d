"""The shipped template `state-standard` 2026.1 encodes the state's published document.

The expected ids and totals below are copied from standard-template.md (sections 2.3, 3, 4,
5 and 6.2): they are the normative contract the shipped TOML must keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from forms.loader import load_template, shipped_template_path
from forms.model import Condition, Template

RULE_SEVERITIES = {
    "R01": "FATAL", "R02": "FATAL", "R03": "FATAL", "R04": "ERROR", "R05": "ERROR",
    "R06": "ERROR", "R07": "ERROR", "R08": "ERROR", "R09": "WARNING", "R10": "ERROR",
    "R11": "ERROR", "R12": "ERROR", "R13": "ERROR", "R14": "ERROR", "R15": "WARNING",
    "R16": "ERROR", "R17": "ERROR", "R18": "ERROR", "R19": "WARNING", "R20": "ERROR",
    "R21": "WARNING", "R22": "WARNING", "R23": "WARNING", "R24": "WARNING", "R25": "WARNING",
}  # fmt: skip
METRIC_IDS = [
    "encounter_volume", "unique_people", "repeat_contact_rate", "response_time",
    "response_within_target", "time_on_scene", "time_on_task", "phone_resolution_rate",
    "police_backup_rate", "police_presence_rate", "arrest_rate", "involuntary_hold_rate",
    "resolved_on_scene_rate", "diversion_rate", "ed_transport_rate", "referral_rate",
    "naloxone_administrations", "naloxone_doses", "naloxone_reversal_rate", "person_injury_rate",
    "responder_injury_rate", "follow_up_completion_rate", "completeness",
]  # fmt: skip
NOW_BUTTONS = {
    "call_received_at", "unit_notified_at", "en_route_at", "arrived_on_scene_at", "left_scene_at",
    "cleared_at", "follow_up_completed_at", "arrived_at_person_at", "arrived_destination_at",
    "transfer_of_care_at", "cancelled_at", "police_arrived_at",
}  # fmt: skip
# Section 7, "Never left the agency": what the captured fields must never send as captured.
NEVER_SENT_AS_CAPTURED = [
    "person_name", "street_address", "age_years", "incident_zip", "person_local_id",
    "psap_incident_id", "unit_id", "call_received_at", "unit_notified_at", "arrived_on_scene_at",
    "narrative", "attested", "completed_by_user",
]  # fmt: skip
GENERALIZED = {
    "unit_id": ("hmac", "unit_key", "unit"),
    "psap_incident_id": ("hmac", "psap_incident_hash", "incident"),
    "person_local_id": ("hmac", "person_link_key", "person"),
    "incident_zip": ("zip3", "incident_zip3", None),
    "age_years": ("age_band", "age_band", None),
    "clinical_impression_icd10": ("icd10_category", "icd10_category", None),
}
AUTOMATIC_INPUTS = ("auto", "derived")


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(shipped_template_path())


def responder_facing(template: Template, tier: str) -> list[str]:
    return [f.id for f in template.fields.values() if f.tier == tier and f.input not in AUTOMATIC_INPUTS]


def test_shipped_template_loads_as_state_standard_2026_1(template: Template) -> None:
    assert (template.id, template.version) == ("state-standard", "2026.1")
    assert template.parameters["hmac_key_id"] == "k2026"
    assert len(template.fields) == 106


def test_core_form_has_44_responder_facing_fields_22_per_encounter_and_22_per_person(
    template: Template,
) -> None:
    facing = responder_facing(template, "core")
    per_person = [f for f in facing if template.fields[f].group == "persons"]
    assert len(facing) == 44
    assert (len(facing) - len(per_person), len(per_person)) == (22, 22)


def test_core_has_17_automatic_fields_and_extended_has_45(template: Template) -> None:
    automatic = [f for f in template.fields.values() if f.core and f.input in AUTOMATIC_INPUTS]
    extended = [f for f in template.fields.values() if not f.core]
    assert len(automatic) == 17
    assert len(extended) == 45


def test_no_identifying_field_reaches_the_state_as_captured(template: Template) -> None:
    pii_sent = [f.id for f in template.fields.values() if f.privacy == "pii" and f.to_state == "send"]
    assert pii_sent == []
    for field_id in NEVER_SENT_AS_CAPTURED:
        assert template.fields[field_id].to_state != "send", field_id


def test_fields_kept_in_the_program_are_identifying_or_marked_never(template: Template) -> None:
    kept = [f for f in template.fields.values() if f.to_state == "never"]
    assert {f.id for f in kept} >= {"narrative", "person_name", "street_address", "completed_by_user"}
    assert all(f.privacy == "pii" or f.to_state == "never" for f in kept)
    assert all(f.privacy == "pii" for f in kept if f.id not in ("attested", "reviewed_at"))


def test_generalized_fields_reach_the_state_under_their_output_ids(template: Template) -> None:
    generalized = {f.id: f for f in template.fields.values() if f.to_state == "generalize"}
    assert set(generalized) == set(GENERALIZED)
    for field_id, (method, output, purpose) in GENERALIZED.items():
        spec = generalized[field_id].generalize
        assert spec is not None and (spec.method, spec.output, spec.purpose) == (method, output, purpose)


def test_every_rule_r01_to_r25_is_present_with_the_documents_severity(template: Template) -> None:
    assert {r.id: r.severity for r in template.rules} == RULE_SEVERITIES
    messages = {r.id: r.message for r in template.rules}
    assert messages["R01"] == "Times are out of order"
    assert messages["R17"] == '"None" cannot be combined'


def test_every_metric_of_section_6_2_is_present(template: Template) -> None:
    assert [m.id for m in template.metrics] == METRIC_IDS
    follow_up = next(m for m in template.to_json()["metrics"] if m["id"] == "follow_up_completion_rate")
    assert follow_up["min_period_age_h"] == 72


def test_metrics_read_only_what_the_state_receives(template: Template) -> None:
    payload_ids = payload_names(template)
    for metric in template.metrics:
        read = [
            n
            for key in ("filter", "numerator", "denominator")
            for n in names_in(template, metric.spec.get(key))
        ]
        read += [metric.spec[key] for key in ("distinct", "sum", "value") if key in metric.spec]
        assert set(read) <= payload_ids, (metric.id, set(read) - payload_ids)


def test_every_code_list_a_field_names_is_defined(template: Template) -> None:
    named = {f.code_list for f in template.fields.values() if f.code_list}
    assert named <= set(template.code_lists)
    assert {"age_band", "restricted_zip3"} <= set(template.code_lists)
    assert template.code_lists["age_band"].output_only


def test_staff_roles_are_the_team_roles_plus_supervisor_and_office_staff(template: Template) -> None:
    team = [c.code for c in template.code_lists["team_role"].codes]
    staff = [c.code for c in template.code_lists["staff_role"].codes]
    assert staff == [*team, "supervisor", "office_staff"]


def test_external_lists_ship_states_colorado_counties_and_restricted_zip3(template: Template) -> None:
    states = template.code_lists["fips_state"]
    counties = template.code_lists["fips_county"]
    assert len(states.codes) >= 51 and states.has("11") and states.has("72")
    assert len(counties.codes) == 64 and counties.has("08031") and counties.external
    assert len(template.code_lists["restricted_zip3"].codes) == 17
    assert template.code_lists["icd10cm"].external and template.code_lists["language"].has("spa")


def test_one_tap_now_buttons_are_exactly_those_of_section_2_3(template: Template) -> None:
    assert {f.id for f in template.fields.values() if f.now_button} == NOW_BUTTONS


def test_people_served_rows_exist_while_contact_was_made(template: Template) -> None:
    persons = template.groups["persons"]
    assert persons.relevant == {"use": "contact"}
    assert (persons.min_rows, persons.sequence_field, persons.count_field) == (
        1,
        "person_seq",
        "persons_contacted_count",
    )
    assert template.fields["age_years"].group == "persons"
    assert template.fields["unit_disposition"].group is None


def test_sections_and_core_questions_read_in_spanish(template: Template) -> None:
    assert all(s.title_i18n.get("es") for s in template.sections)
    untranslated = [
        f for f in responder_facing(template, "core") if not template.fields[f].label_i18n.get("es")
    ]
    assert untranslated == []
    assert template.fields["age_years"].label_i18n["es"] == "Edad"


def payload_names(template: Template) -> set[str]:
    """Return the ids a de-identified payload record can carry."""
    sent = {f.id for f in template.fields.values() if f.to_state == "send"}
    outputs = {f.generalize.output for f in template.fields.values() if f.generalize}
    return sent | outputs | {d.id for d in template.derived}


def names_in(template: Template, cond: Condition | None) -> Iterator[str]:
    """Yield every field a condition reads, following named filters."""
    if cond is None:
        return
    if "field" in cond:
        yield cond["field"]
    if "use" in cond:
        yield from names_in(template, template.filters[cond["use"]])
    children: list[Any] = [*cond.get("all", []), *cond.get("any", [])]
    if "not" in cond:
        children.append(cond["not"])
    for child in children:
        yield from names_in(template, child)
