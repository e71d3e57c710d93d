"""The encounter page: build the template's form, prefill it, save it through app.encounters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_datetime
from flask import current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app import encounters
from app.db import get_db
from app.errors import CrewlogError, ValidationFailed
from app.responder.layout import Arranger
from app.shifts import Shift
from app.units import Unit
from forms.builder import (
    answers_from_form,
    build_encounter_form,
    form_data_from_answers,
    responder_fields,
    zone_named,
)
from forms.model import Answers, Template
from forms.normalize import normalize

EDITABLE = ("draft", "returned")
# Preset fields (input "preset", standard-template 3.1/3.3) and where a shift supplies them.
PRESETS = {"team_roles": "crew_roles", "incident_county": "home_county"}


def settings() -> dict[str, Any]:
    """Return Crewlog's settings of the running app."""
    result: dict[str, Any] = current_app.config["SETTINGS"]
    return result


def extended() -> frozenset[str]:
    """Return the extended fields this program collects."""
    return frozenset(settings()["template"]["extended_fields"])


def language() -> str:
    """Return the page language code."""
    return str(get_locale() or "en")


def form_class(template: Template) -> Any:
    """Return a fresh form class for the template in the page language."""
    return build_encounter_form(template, extended=extended(), lang=language())


def initial_answers(template: Template, shift: Shift | None, unit: Unit | None) -> Answers:
    """Return a new encounter's starting answers: template defaults, shift presets, one person row."""
    fields = responder_fields(template, extended())
    answers: Answers = {f.id: f.default for f in fields if f.group is None and f.default is not None}
    sources = {
        "crew_roles": shift.team_roles if shift else [],
        "home_county": (unit.home_county if unit else None) or settings()["agency"]["home_county"],
    }
    for field_id, source in PRESETS.items():
        if any(f.id == field_id for f in fields) and sources[source]:
            answers[field_id] = sources[source]
    for group in template.groups.values():
        row = {f.id: f.default for f in fields if f.group == group.id and f.default is not None}
        if group.min_rows >= 1 and any(f.group == group.id for f in fields):
            answers[group.id] = [row]
    return answers


def blank_form(
    template: Template, answers: Answers, *, encounter_id: str | None, revision: int | None
) -> Any:
    """Return a form showing stored (or starting) answers."""
    zone = zone_named(settings()["agency"]["timezone"])
    data: MultiDict[str, str] = form_data_from_answers(template, answers, zone=zone)
    data["encounter_uuid"] = encounter_id or str(uuid.uuid4())
    data["base_revision"] = "" if revision is None else str(revision)
    data["time_zone"] = settings()["agency"]["timezone"]
    return form_class(template)(formdata=data)


def render(
    template: Template,
    form: Any,
    *,
    code: int = 200,
    messages: list[dict[str, Any]] | None = None,
    problem: str | None = None,
    encounter: encounters.Encounter | None = None,
    notes: list[str] | None = None,
) -> tuple[str, int]:
    """Render the encounter page for a form, with messages from validation."""
    answers = normalize(template, _answers_if_readable(template, form), extended=extended(), finalize=False)
    page = Arranger(template, answers, messages or [], language()).page(form, first_screen_first=True)
    status = encounter.status if encounter else None
    target = (
        url_for("responder.edit_encounter", encounter_id=encounter.id)
        if encounter
        else url_for("responder.new_encounter")
    )
    html = render_template(
        "responder/encounter.html",
        form=form,
        page=page,
        problem=problem,
        notes=notes or [],
        heading=_("Edit encounter") if encounter else _("New encounter"),
        status=status,
        status_label=status_label(status),
        action_url=target,
        read_only=bool(status and status not in EDITABLE),
        acknowledged=list(form.acknowledged.data or []),
        template_json=browser_template(template),
        template_note=_("Form version %(version)s", version=template.version),
    )
    return html, code


def _answers_if_readable(template: Template, form: Any) -> Answers:
    try:
        return answers_from_form(template, form)
    except (TypeError, ValueError):
        return {}


def browser_template(template: Template) -> dict[str, Any]:
    """Return the parts of the template the page's condition evaluator reads."""
    return {
        "id": template.id,
        "version": template.version,
        "filters": template.filters,
        "parameters": template.parameters,
        "not_values": [{"code": n.code, "kind": n.kind} for n in template.not_values.values()],
        "row_groups": template.row_groups,
    }


def status_label(status: str | None) -> str:
    """Return the words shown for a record status."""
    labels = {
        "draft": _("Draft"),
        "final": _("Finalized"),
        "returned": _("Returned for correction"),
        "approved": _("Approved"),
        "amended": _("Amended"),
        "voided": _("Voided"),
    }
    return str(labels.get(status or "", status or ""))


def change_rows(form: Any, action: str) -> None:
    """Add or remove a repeat-group row without saving (the page without JavaScript)."""
    parts = action.split(":")
    if len(parts) < 2 or parts[1] not in form:
        return
    entries = form[parts[1]]
    if parts[0] == "add_row":
        entries.append_entry()
    elif parts[0] == "remove_row" and len(parts) == 3:
        entries.entries = [e for e in entries.entries if e.name.rsplit("-", 1)[-1] != parts[2]]


def save(template: Template, form: Any, user: Any, *, finalize: bool) -> encounters.SaveResult:
    """Save the form's answers as a draft or finalize them; raise CrewlogError when refused."""
    base = form.base_revision.data
    payload = {
        "id": str(form.encounter_uuid.data).lower(),
        "status": "final" if finalize else "draft",
        "template_id": template.id,
        "template_version": template.version,
        "base_revision": int(base) if base else None,
        "answers": answers_from_form(template, form),
        "acknowledged_warnings": list(form.acknowledged.data or []),
    }
    return encounters.save(get_db(), user, payload)


def finalize_or_keep_draft(
    template: Template, form: Any, user: Any
) -> tuple[encounters.SaveResult | None, ValidationFailed | None]:
    """Finalize; when validation refuses, save the answers as a draft so nothing typed is lost."""
    try:
        return save(template, form, user, finalize=True), None
    except ValidationFailed as refused:
        try:
            kept = save(template, form, user, finalize=False)
        except CrewlogError:
            return None, refused
        form.base_revision.data = str(kept.revision)
        return kept, refused


def local_time(iso: str | None, config: dict[str, Any]) -> str:
    """Return a stored ISO timestamp as a short local date and time in the agency's zone."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    zone = zone_named(config["agency"]["timezone"]) or UTC
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return format_datetime(moment, "short", tzinfo=zone, locale=language())


def submitted_action() -> str:
    """Return which button sent the form: save, finalize, add_row:<group> or remove_row:<group>:<i>."""
    return str(request.form.get("action", "save"))
