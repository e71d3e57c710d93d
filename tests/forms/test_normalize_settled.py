"""When finalizing may skip normalizing again after the repeat-client flags are set."""

from __future__ import annotations

from typing import Any

import tomli

from forms.loader import load_shipped_template, load_template_data, shipped_template_path
from forms.model import Template
from forms.normalize import normalize, settled_after_setting
from tests.forms.worked_example import EXTENDED, answers


def shipped_data() -> dict[str, Any]:
    return tomli.loads(shipped_template_path().read_text(encoding="utf-8"))


def with_flags(values: dict[str, Any], flag: bool) -> dict[str, Any]:
    return {**values, "persons": [{**row, "repeat_client": flag} for row in values["persons"]]}


def test_setting_the_repeat_flag_leaves_the_shipped_templates_answers_normalized() -> None:
    template = load_shipped_template()
    assert settled_after_setting(template, EXTENDED, "repeat_client")
    normalized = normalize(template, answers(), extended=EXTENDED, finalize=True)
    for flag in (True, False):
        flagged = with_flags(normalized, flag)
        assert normalize(template, flagged, extended=EXTENDED, finalize=True) == flagged


def test_a_flag_that_decides_what_applies_needs_normalizing_again() -> None:
    data = shipped_data()
    for field in data["fields"]:
        if field["id"] == "prior_contacts_90d":  # asked only of people seen before
            field["relevant"] = {"field": "repeat_client", "op": "is_true"}
            field["tier"] = "core"
    template: Template = load_template_data(data, "asks-returning-people.toml")
    assert not settled_after_setting(template, EXTENDED, "repeat_client")
    normalized = normalize(template, answers(), extended=EXTENDED, finalize=True)
    first_time = with_flags(normalized, False)
    first_time["persons"][0]["prior_contacts_90d"] = 2
    assert (
        "prior_contacts_90d"
        not in normalize(template, first_time, extended=EXTENDED, finalize=True)["persons"][0]
    )


def test_a_field_that_is_switched_off_or_unknown_is_never_settled() -> None:
    template = load_shipped_template()
    extended_off = next(f.id for f in template.fields.values() if not f.core)
    assert not settled_after_setting(template, frozenset(), extended_off)
    assert not settled_after_setting(template, EXTENDED, "no_such_field")
