"""Admin views: list, add and disable users; list and add units."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import audit, template_versions, units, users
from app.admin import bp
from app.admin.forms import ActiveForm, UnitForm, UserForm
from app.db import get_db, write_transaction
from forms.model import Template


def _codes(template: Template | None, field_id: str) -> list[SelectChoice]:
    """Return the choices of the code list behind a template field, after a blank one."""
    spec = template.fields.get(field_id) if template else None
    codes = template.code_lists.get(spec.code_list or "") if template and spec else None
    return [SelectChoice("", "—"), *(SelectChoice(c.code, c.label) for c in (codes.codes if codes else ()))]


def _user_form() -> UserForm:
    form = UserForm()
    form.team_role.choices = _codes(template_versions.active(get_db()), "completed_by_role")
    return form


def _unit_form() -> UnitForm:
    form = UnitForm()
    form.program_model.choices = _codes(template_versions.active(get_db()), "program_model")
    return form


@bp.get("/")
def index() -> Any:
    """Show the admin start page."""
    return render_template("admin/index.html")


@bp.get("/users", endpoint="users")
def users_page() -> Any:
    """List every user."""
    return render_template(
        "admin/users.html", users=users.list_all(get_db()), form=_user_form(), active_form=ActiveForm()
    )


@bp.post("/users")
def add_user() -> Any:
    """Create a user from the form."""
    form = _user_form()
    if not form.validate_on_submit():
        return render_template(
            "admin/users.html", users=users.list_all(get_db()), form=form, active_form=ActiveForm()
        ), 400
    db = get_db()
    try:
        with write_transaction(db):
            user = users.create(
                db,
                form.username.data or "",
                form.password.data or "",
                form.role.data or "",
                display_name=form.display_name.data or "",
                team_role=form.team_role.data or None,
            )
            audit.record(db, current_user.username, "user.add", user.username, {"role": user.role})
    except users.UserError as error:
        flash(str(error), "error")
        return render_template(
            "admin/users.html", users=users.list_all(db), form=form, active_form=ActiveForm()
        ), 400
    flash(_("User %(name)s added.", name=user.username), "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/active")
def set_user_active(username: str) -> Any:
    """Enable or disable a user."""
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_("The request could not be read. Try again."), "error")
        return redirect(url_for("admin.users"))
    db = get_db()
    active = form.active.data == "1"
    try:
        with write_transaction(db):
            users.set_active(db, username, active)
            audit.record(db, current_user.username, "user.enable" if active else "user.disable", username)
    except users.UserError as error:
        flash(str(error), "error")
    return redirect(url_for("admin.users"))


@bp.get("/units", endpoint="units")
def units_page() -> Any:
    """List the units."""
    return render_template("admin/units.html", units=units.list_all(get_db()), form=_unit_form())


@bp.post("/units")
def add_unit() -> Any:
    """Create a unit from the form."""
    form = _unit_form()
    db = get_db()
    if not form.validate_on_submit():
        return render_template("admin/units.html", units=units.list_all(db), form=form), 400
    try:
        with write_transaction(db):
            unit = units.create(
                db,
                form.call_sign.data or "",
                program_model=form.program_model.data or None,
                home_county=form.home_county.data or None,
            )
            audit.record(db, current_user.username, "unit.add", unit.call_sign)
    except units.UnitError as error:
        flash(str(error), "error")
        return render_template("admin/units.html", units=units.list_all(db), form=form), 400
    flash(_("Unit %(name)s added.", name=unit.call_sign), "info")
    return redirect(url_for("admin.units"))
