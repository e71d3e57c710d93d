"""Turn a template into a fresh flask-wtf form class, and answers to and from form data.

Form layout, one wtforms field per enabled responder-facing template field (input not
``auto``/``derived``), named by the field id:

- ``enum`` with up to CHIP_LIMIT codes: radio chips; longer lists: a select; external
  lists (counties, facilities, ...): a text input offered the shipped codes.
- ``multi_enum``: checkbox chips (external lists: comma-separated codes).
- ``boolean``: radio chips ``true`` / ``false`` / ``""`` (unanswered, the start state).
- ``datetime``: a ``datetime-local`` input read in the form's ``time_zone``.
- NOT values and pertinent negatives: where a field allows any, a companion radio field
  ``<id>__nv`` offers them. A NOT value is stored as ``{"nv": code}``; a PN alone as
  ``{"pn": code}``; a PN next to a value as ``{"value": v, "pn": code}``.
- Repeat group ``persons``: ``FieldList(FormField(row form))``, inputs named
  ``persons-<i>-<field id>``; each row carries a hidden ``row_marker`` so an untouched row
  still counts.
- Bookkeeping fields: ``encounter_uuid`` (made by the page), ``base_revision``,
  ``time_zone`` (IANA name) and ``acknowledged`` (WARNING rule ids).

The form only parses types; forms.validation decides what is required or allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as RowForm
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from forms.model import Answers, Field, Template

NV_SUFFIX = "__nv"
CHIP_LIMIT = 24
TEXTAREA_FROM = 200
HIDDEN_INPUTS = frozenset({"auto", "derived"})
NEVER_ENTERED = frozenset({"not_reporting"})
RESERVED = frozenset(
    {"encounter_uuid", "base_revision", "time_zone", "acknowledged", "row_marker", "csrf_token"}
)
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
LIST_SPLIT = re.compile(r"[,\s]+")


def responder_fields(template: Template, extended: frozenset[str]) -> list[Field]:
    """Return the enabled fields a responder fills in, in template order."""
    return [f for f in template.enabled_fields(extended) if f.input not in HIDDEN_INPUTS]


def answer_choices(template: Template, spec: Field) -> list[str]:
    """Return the NOT value and PN codes a responder may pick on a field."""
    nots = () if spec.usage == "M" else spec.not_values  # the loader fills the per-usage defaults
    codes = [c for c in (*nots, *spec.pertinent_negatives) if c not in NEVER_ENTERED]
    return list(dict.fromkeys(c for c in codes if c in template.not_values))


def build_encounter_form(
    template: Template, *, extended: frozenset[str], lang: str = "en"
) -> type[FlaskForm]:
    """Return a new form class for one encounter under this template."""
    fields = responder_fields(template, extended)
    clash = RESERVED & {f.id for f in fields} | RESERVED & set(template.groups)
    if clash:
        raise ValueError(f"template uses reserved form field names: {', '.join(sorted(clash))}")
    attrs: dict[str, Any] = _value_fields(template, [f for f in fields if f.group is None], lang)
    for group in template.groups.values():
        members = [f for f in fields if f.group == group.id]
        if members:
            row = _value_fields(template, members, lang)
            row["row_marker"] = HiddenField(default="1")
            row_class = type(f"{group.id.title()}RowForm", (RowForm,), row)
            attrs[group.id] = FieldList(
                FormField(row_class), label=_label(group.label, group.label_i18n, lang)
            )
    attrs.update(_bookkeeping_fields(template))
    return type("EncounterForm", (FlaskForm,), attrs)


def _bookkeeping_fields(template: Template) -> dict[str, Any]:
    """Return the hidden fields every encounter form carries."""
    warnings = _choices((r.id, r.id) for r in template.rules if r.severity == "WARNING")
    return {
        "encounter_uuid": HiddenField(validators=[_uuid]),
        "base_revision": HiddenField(validators=[_revision]),
        "time_zone": HiddenField(default="UTC", validators=[_zone_name]),
        "acknowledged": SelectMultipleField(choices=warnings, validators=[Optional()]),
    }


def _value_fields(template: Template, fields: Iterable[Field], lang: str) -> dict[str, Any]:
    """Return the unbound wtforms fields (and NOT/PN companions) for template fields."""
    attrs: dict[str, Any] = {}
    for spec in fields:
        attrs[spec.id] = _value_field(template, spec, lang)
        codes = answer_choices(template, spec)
        if codes:
            choices = _choices([("", _l("Clear"))] + [(c, template.not_values[c].label) for c in codes])
            attrs[spec.id + NV_SUFFIX] = RadioField(
                _l("Other answers"), choices=choices, validators=[Optional()]
            )
    return attrs


def _value_field(template: Template, spec: Field, lang: str) -> Any:
    """Return the unbound wtforms field that parses one template field."""
    label = _label(spec.label, spec.label_i18n, lang)
    common: dict[str, Any] = {
        "validators": [Optional()],
        "description": _label(spec.help or "", spec.help_i18n, lang),
    }
    kind = spec.type
    if kind in ("enum", "multi_enum"):
        return _choice_field(template, spec, label, lang, common)
    if kind == "boolean":
        return RadioField(
            label,
            choices=_choices([("true", _l("Yes")), ("false", _l("No")), ("", _l("Unanswered"))]),
            default="",  # toggles start unanswered, and show it
            **common,
        )
    if kind == "integer":
        return IntegerField(label, render_kw=_bounds(spec, inputmode="numeric"), **common)
    if kind == "number":
        return FloatField(label, render_kw=_bounds(spec, inputmode="decimal", step="any"), **common)
    if kind == "date":
        return DateField(label, format="%Y-%m-%d", **common)
    if kind == "datetime":
        return DateTimeLocalField(label, format=DATETIME_FORMATS, render_kw={"step": "1"}, **common)
    if kind == "text" and spec.max_length and spec.max_length > TEXTAREA_FROM:
        return TextAreaField(label, render_kw={"maxlength": spec.max_length, "rows": 5}, **common)
    render = {"maxlength": spec.max_length} if spec.max_length else {}
    return StringField(
        label, render_kw=render | ({"inputmode": "decimal"} if kind == "geo" else {}), **common
    )


def _choice_field(template: Template, spec: Field, label: str, lang: str, common: dict[str, Any]) -> Any:
    """Return the chips, select or text input for an enum or multi_enum field."""
    code_list = template.code_lists[spec.code_list or ""]
    choices = _choices((c.code, _label(c.label, c.label_i18n, lang)) for c in code_list.codes)
    if code_list.external:
        return StringField(label, render_kw={"list": f"{spec.id}-codes", "autocomplete": "off"}, **common)
    if spec.type == "multi_enum":
        widget = {"widget": ListWidget(prefix_label=False), "option_widget": CheckboxInput()}
        return SelectMultipleField(label, choices=choices, **widget, **common)
    if len(choices) > CHIP_LIMIT:
        return SelectField(label, choices=[SelectChoice("", "—"), *choices], **common)
    return RadioField(label, choices=choices, **common)


def _choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """Return wtforms choices for (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _bounds(spec: Field, **extra: str) -> dict[str, Any]:
    """Return HTML min/max attributes for a numeric field."""
    bounds = {"min": spec.min, "max": spec.max}
    return {k: _plain_number(v) for k, v in bounds.items() if v is not None} | extra


def _plain_number(value: float) -> int | float:
    """Return an integral float as an int so 0.0 renders as 0."""
    return int(value) if float(value).is_integer() else value


def _label(text: str, translations: Mapping[str, str], lang: str) -> str:
    """Return the text in the language asked for, falling back to English."""
    return translations.get(lang) or text


def _uuid(form: Any, field: Any) -> None:
    """Reject an encounter id that is not a UUID."""
    if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", field.data or ""):
        raise ValidationError(_l("The encounter id is missing or damaged. Reload the page and try again."))


def _revision(form: Any, field: Any) -> None:
    """Reject a base revision that is not a whole number."""
    if field.data and not str(field.data).isdigit():
        raise ValidationError(_l("The record version is damaged. Reload the page and try again."))


def _zone_name(form: Any, field: Any) -> None:
    """Reject an unknown time zone name."""
    if zone_named(field.data) is None:
        raise ValidationError(_l("Unknown time zone. Reload the page and try again."))


def zone_named(name: str | None) -> tzinfo | None:
    """Return the IANA time zone of that name, or None when unknown."""
    try:
        return ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def answers_from_form(template: Template, form: Any) -> Answers:
    """Return the answers a submitted encounter form holds, in the stored encoding."""
    zone = zone_named(form.time_zone.data) or ZoneInfo("UTC")
    answers = _row_answers(template, form, zone)
    for group_id in template.groups:
        if group_id in form:
            answers[group_id] = [_row_answers(template, entry.form, zone) for entry in form[group_id]]
    return answers


def _row_answers(template: Template, form: Any, zone: tzinfo) -> Answers:
    """Return the answers of the template fields in one form or person row."""
    answers: Answers = {}
    for name in form._fields:
        spec = template.fields.get(name)
        if spec is None:
            continue
        nv = form[name + NV_SUFFIX].data if name + NV_SUFFIX in form else None
        stored = _encode(template, _python_value(spec, form[name].data, zone), nv or None)
        if stored is not None:
            answers[name] = stored
    return answers


def _python_value(spec: Field, data: Any, zone: tzinfo) -> Any:
    """Return the stored plain value for what a wtforms field parsed."""
    if data is None or data == "" or data == []:
        return None
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(data)
    if spec.type == "datetime" and isinstance(data, datetime):
        return data.replace(tzinfo=zone).isoformat(timespec="seconds")
    if spec.type == "date" and isinstance(data, date):
        return data.isoformat()
    if spec.type == "multi_enum" and isinstance(data, str):
        return [code for code in LIST_SPLIT.split(data) if code] or None
    if isinstance(data, str):
        return data.strip() or None
    return data


def _encode(template: Template, value: Any, nv: str | None) -> Any:
    """Return a value in the stored encoding: plain, {"nv"}, {"pn"} or {"value","pn"}."""
    if nv is None:
        return value
    known = template.not_values.get(nv)
    if known is None or known.kind == "not":
        return {"nv": nv}
    return {"pn": nv} if value is None else {"value": value, "pn": nv}


def form_data_from_answers(
    template: Template, answers: Answers, *, zone: tzinfo | None = None
) -> MultiDict[str, str]:
    """Return form data that shows stored answers; datetimes are shown in `zone` when given."""
    data: MultiDict[str, str] = MultiDict()
    _add_row(template, data, "", answers, zone)
    for group_id in template.groups:
        for index, row in enumerate(answers.get(group_id) or []):
            data.add(f"{group_id}-{index}-row_marker", "1")
            _add_row(template, data, f"{group_id}-{index}-", row, zone)
    return data


def _add_row(
    template: Template,
    data: MultiDict[str, str],
    prefix: str,
    answers: Mapping[str, Any],
    zone: tzinfo | None,
) -> None:
    """Add the form entries for the template fields of one answers object."""
    for name, stored in answers.items():
        spec = template.fields.get(name)
        if spec is None or name in template.groups:
            continue
        value, code = _decode(stored)
        for text in _form_strings(spec, value, zone, external=_external(template, spec)):
            data.add(prefix + name, text)
        if code is not None:
            data.add(prefix + name + NV_SUFFIX, code)


def _decode(stored: Any) -> tuple[Any, str | None]:
    """Split a stored value into its plain value and its NOT/PN code."""
    if isinstance(stored, dict):
        if "nv" in stored:
            return None, str(stored["nv"])
        return stored.get("value"), stored.get("pn")
    return stored, None


def _external(template: Template, spec: Field) -> bool:
    """Return whether the field's code list is state-maintained (typed, not chips)."""
    code_list = template.code_lists.get(spec.code_list or "")
    return bool(code_list and code_list.external)


def _form_strings(spec: Field, value: Any, zone: tzinfo | None, *, external: bool) -> list[str]:
    """Return the form strings that show one plain value."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list):
        return [", ".join(map(str, value))] if external else [str(v) for v in value]
    if spec.type == "datetime" and isinstance(value, str):
        return [_wall_clock(value, zone)]
    if isinstance(value, float):
        return [str(_plain_number(value))]
    return [str(value)]


def _wall_clock(value: str, zone: tzinfo | None) -> str:
    """Return an ISO datetime as the local wall-clock time a datetime-local input shows."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")
