"""Admin forms: add a user, add a unit, enable or disable a user."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.users import MIN_PASSWORD_LENGTH, ROLES


class UserForm(FlaskForm):  # type: ignore[misc]
    """A new user account."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=40)])
    display_name = StringField(_l("Name shown on pages"), validators=[Optional(), Length(max=80)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in ROLES])
    team_role = SelectField(_l("Team role"), choices=[], validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])


class UnitForm(FlaskForm):  # type: ignore[misc]
    """A new unit."""

    call_sign = StringField(_l("Call sign"), validators=[DataRequired(), Length(max=20)])
    program_model = SelectField(_l("Program model"), choices=[], validators=[Optional()])
    home_county = StringField(_l("Home county (FIPS)"), validators=[Optional(), Length(max=5)])


class ActiveForm(FlaskForm):  # type: ignore[misc]
    """Enable or disable an account."""

    active = HiddenField(validators=[DataRequired()])
