"""Supervisor pages: shift logs, review, metrics dashboard, exports and sync health.

The blueprint's role check (supervisors and admins) is installed once by app.roles; the
full export is the one page narrowed to admins, declared in ADMIN_ONLY and checked once
for the blueprint here. ROUTE_ROLES declares every endpoint's roles for the route matrix.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Forbidden
from app.roles import ADMIN, ADMINS, REVIEWERS, ROLE_MATRIX, persona

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

ROUTE_ROLES = {
    "supervisor.index": REVIEWERS,
    "supervisor.shifts": REVIEWERS,
    "supervisor.shift": REVIEWERS,
    "supervisor.sign_off": REVIEWERS,
    "supervisor.encounter": REVIEWERS,
    "supervisor.return_encounter": REVIEWERS,
    "supervisor.approve_encounter": REVIEWERS,
    "supervisor.void_encounter": REVIEWERS,
    "supervisor.amend_encounter": REVIEWERS,
    "supervisor.metrics": REVIEWERS,
    "supervisor.state_export": REVIEWERS,
    "supervisor.full_export": ADMINS,
    "supervisor.full_export_csv": ADMINS,
}
ADMIN_ONLY = frozenset(name for name, roles in ROUTE_ROLES.items() if roles == ADMINS)
ROLE_MATRIX.update(ROUTE_ROLES)


@bp.context_processor
def words() -> dict[str, Any]:
    """Give the supervisor pages the words for record statuses and review-note kinds."""
    from app.responder.editing import status_label

    notes = {
        "return": _("Returned for correction"),
        "approve": _("Approved"),
        "amend": _("Amended"),
        "void": _("Voided"),
        "note": _("Note"),
    }
    return {"status_label": status_label, "note_label": lambda kind: notes.get(kind, kind)}


@bp.before_request
def admins_only_pages() -> None:
    """Refuse the admin-only pages of this blueprint to supervisors."""
    if request.endpoint in ADMIN_ONLY and current_user.is_authenticated and persona(current_user) != ADMIN:
        raise Forbidden(_("Only an admin can export identifying details. Ask an admin."))


@bp.before_request
def warm_the_dashboard() -> None:
    """Start reading the kept payloads into memory on a supervisor's first visit, before Metrics is opened."""
    from app import encounters, template_versions
    from app.db import get_db
    from app.supervisor.report_cache import reports
    from app.supervisor.report_views import current_app_db

    if current_user.is_authenticated and request.endpoint != "supervisor.metrics":
        template = template_versions.active(get_db())
        if template is not None:
            reports.warm(current_app_db(), template, encounters.current_context())


import app.supervisor.amend  # noqa: E402,F401  (each module registers its routes on bp)
import app.supervisor.report_views  # noqa: E402,F401
import app.supervisor.views  # noqa: E402,F401
