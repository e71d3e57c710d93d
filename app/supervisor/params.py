"""Read the supervisor pages' query parameters: date ranges, unit, whole numbers; refuse bad ones clearly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlite_utils
from flask import current_app
from flask_babel import gettext as _

from app import units
from app.errors import BadRequest
from forms.builder import zone_named

MAX_RANGE_DAYS = 3660
MAX_OVERDUE_HOURS = 24 * 30


def settings() -> dict[str, Any]:
    """Return Crewlog's settings of the running app."""
    found: dict[str, Any] = current_app.config["SETTINGS"]
    return found


def zone() -> tzinfo:
    """Return the agency's time zone."""
    found = zone_named(settings()["agency"]["timezone"])
    assert found is not None
    return found


def today() -> date:
    """Return today's date in the agency's time zone."""
    return datetime.now(zone()).date()


def date_range(args: Mapping[str, str], default_days: int) -> tuple[date, date]:
    """Return (start, end) from ?start=&end= (YYYY-MM-DD); by default the last `default_days` days."""
    end = _day(args, "end") or today()
    start = _day(args, "start") or end - timedelta(days=default_days - 1)
    if start > end:
        raise BadRequest(
            _(
                "The start date %(start)s is after the end date %(end)s: swap them.",
                start=start.isoformat(),
                end=end.isoformat(),
            ),
            details={"field": "start"},
        )
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadRequest(
            _("Choose at most %(n)d days at a time.", n=MAX_RANGE_DAYS), details={"field": "start"}
        )
    return start, end


def _day(args: Mapping[str, str], name: str) -> date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_day(name, text)
    except ValueError:
        return _bad_day(name, text)


def _bad_day(name: str, text: str) -> date:
    raise BadRequest(
        _("'%(name)s' must be a date written YYYY-MM-DD, not '%(text)s'.", name=name, text=text[:40]),
        details={"field": name},
    )


def unit_id(db: sqlite_utils.Database, args: Mapping[str, str]) -> int | None:
    """Return the unit asked for with ?unit=<call sign>, or None for all units."""
    call_sign = (args.get("unit") or "").strip()
    if not call_sign:
        return None
    unit = units.by_call_sign(db, call_sign)
    if unit is None:
        raise BadRequest(
            _("There is no unit '%(unit)s'. Pick one from the list.", unit=call_sign[:40]),
            details={"field": "unit"},
        )
    return unit.id


def overdue_hours(args: Mapping[str, str]) -> int:
    """Return after how many hours an open draft is overdue: ?overdue_h=, else the setting."""
    default = int(settings()["review"]["draft_overdue_hours"])
    return whole_number(args, "overdue_h", default, 1, max(MAX_OVERDUE_HOURS, default))


def whole_number(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """Return ?name= as a whole number between low and high, or the default when absent."""
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest(
            _("'%(name)s' must be a whole number from %(low)d to %(high)d.", name=name, low=low, high=high),
            details={"field": name},
        )
    return int(text)
