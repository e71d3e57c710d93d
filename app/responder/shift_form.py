"""The start-shift form: the unit, and who is on the crew with which team role."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app import units, users
from forms.model import Template

CREW_ROWS = 4
TEAM_ROLE_FIELD = "team_roles"  # the preset crew field of standard-template 3.1


class CrewMemberForm(Form):  # type: ignore[misc]  # wtforms has no type hints
    """One crew member: a Crewlog user or a typed name, and a team role."""

    member = SelectField(_l("Crew member"), choices=[], validators=[Optional()])
    name = StringField(
        _l("Or their name, if they have no Crewlog account"), validators=[Optional(), Length(max=80)]
    )
    team_role = SelectField(_l("Team role"), choices=[], validate_choice=False)

    def validate_team_role(self, field: Any) -> None:
        """Ask for the role of everyone named on the crew."""
        if (self.member.data or self.name.data) and not field.data:
            raise ValidationError(_l("Pick this person's team role."))
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError(_l("Pick a team role from the list."))


class ShiftStartForm(FlaskForm):  # type: ignore[misc]
    """Unit and crew for a new shift."""

    unit = SelectField(_l("Unit"), coerce=int, choices=[], validators=[InputRequired(_l("Pick the unit."))])
    crew = FieldList(FormField(CrewMemberForm), min_entries=CREW_ROWS, max_entries=CREW_ROWS)

    def validate_crew(self, field: Any) -> None:
        """Refuse a shift without anyone on the crew."""
        if not any(row.form.member.data or row.form.name.data for row in field):
            raise ValidationError(_l("Add at least one crew member."))


def team_roles(template: Template | None) -> list[tuple[str, str]]:
    """Return the team role codes of the template's crew field."""
    spec = template.fields.get(TEAM_ROLE_FIELD) if template else None
    codes = template.code_lists.get(spec.code_list or "") if (template and spec) else None
    return [(c.code, c.label) for c in codes.codes] if codes else []


def shift_start_form(db: sqlite_utils.Database, user: Any, template: Template | None) -> ShiftStartForm:
    """Return the start-shift form with this program's units, users and team roles to pick from."""
    roles = team_roles(template)
    people = [u for u in users.list_all(db) if u.active]
    form = ShiftStartForm()
    form.unit.choices = [SelectChoice(u.id, u.call_sign) for u in units.list_all(db, active_only=True)]
    members = [("", "—")] + [(str(p.id), p.display_name or p.username) for p in people]
    for index, row in enumerate(form.crew):
        row.form.member.choices = [SelectChoice(v, label) for v, label in members]
        row.form.team_role.choices = [SelectChoice(v, label) for v, label in [("", "—"), *roles]]
        if index == 0 and not form.is_submitted():
            row.form.member.data = str(user.id)
            row.form.team_role.data = user.team_role if user.team_role in dict(roles) else ""
    return form


def crew_from_form(db: sqlite_utils.Database, form: ShiftStartForm) -> list[dict[str, Any]]:
    """Return the crew list a shift stores: user id (when a user), name and team role."""
    crew: list[dict[str, Any]] = []
    for row in (entry.form for entry in form.crew):
        person = users.get(db, int(row.member.data)) if row.member.data else None
        name = (person.display_name or person.username) if person else (row.name.data or "").strip()
        if name:
            member = {"user_id": person.id} if person else {}
            crew.append(member | {"name": name, "team_role": row.team_role.data})
    return crew
