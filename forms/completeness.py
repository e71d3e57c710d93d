"""The completeness metric: how often each mandatory and required field holds an answer.

Runs over every M and R field that reaches the state as itself (`send`) or as a
generalized output (fields that are derived or never sent cannot be seen in a payload).
A real value, a pertinent negative or a NOT value other than `not_recorded` is complete;
`not_recorded` (what a blank R field becomes at finalize) is not. An M field of a
finalized record always holds a real value, so only R fields are read value by value.
A record counts for a field when the field's output is present in it, or when the field
would have been relevant (its condition evaluated on the payload) and enabled: core
fields always, an extended field for the agencies whose records carry it at least once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import compress, repeat
from operator import add, eq
from typing import Any

from forms.breakdown_cells import ordered
from forms.figures import rate_figures
from forms.frozen import freeze
from forms.metric_masks import Mask, both, either, negate
from forms.metric_rows import MetricRows
from forms.metric_store import ENCOUNTER
from forms.model import Field, Template

AGENCY_FIELD = "agency_id"
INCOMPLETE_NOT_VALUE = "not_recorded"
NOT_RECORDED = {"nv": INCOMPLETE_NOT_VALUE}
MEASURED_LEVELS = ("M", "R")
VISIBLE_RULES = ("send", "generalize")

Figures = dict[str, Any]


@dataclass(frozen=True)
class Measured:
    """One measured field: where its output is read in the payload."""

    field: Field
    output: str
    unit: str


def measured_fields(template: Template) -> list[Measured]:
    """Return the M and R fields whose output can be seen in a payload, in template order."""
    measured = []
    for f in template.fields.values():
        if f.usage in MEASURED_LEVELS and f.to_state in VISIBLE_RULES:
            output = f.generalize.output if f.generalize is not None else f.id
            measured.append(Measured(f, output, ENCOUNTER if f.group is None else "person"))
    return measured


class Completeness:
    """Per-field completeness over the base set, and its sum over all fields.

    A record holds a field when its value is there (not None); values are compared only
    for R fields, the only ones that may hold `not_recorded` (an M field of a finalized
    record holds a real value). Totals use list counts, breakdowns row masks.
    """

    def __init__(self, rows: MetricRows, template: Template) -> None:
        self.rows = rows
        self.enabled: dict[str, Mask | bool] = {}
        for item in measured_fields(template):
            enabled = self._enabled(item)
            if enabled is not None:
                self.enabled[item.field.id] = enabled
        self.measured = [m for m in measured_fields(template) if m.field.id in self.enabled]
        self._totals: dict[str, tuple[list[int], list[int]]] = {}

    def _enabled(self, item: Measured) -> Mask | bool | None:
        """Return True (enabled for every row), a per-row mask, or None (enabled nowhere)."""
        if item.field.core:
            return True
        holding = self.rows.holding(item.unit, item.output)
        if not holding.count(1):
            return None
        agencies = self.rows.column(item.unit, AGENCY_FIELD)
        if len(set(self.rows.values(item.unit, AGENCY_FIELD))) == 1:
            return True
        carrying = set(compress(agencies, holding))
        return bytes(map(carrying.__contains__, agencies))

    def _scope(self, item: Measured) -> Mask:
        """Return the base rows where an absent output counts as missing."""
        enabled = self.enabled[item.field.id]
        scope = self.rows.mask(item.unit, item.field.relevant) if item.field.relevant else None
        if not isinstance(enabled, bool):
            scope = enabled if scope is None else both(scope, enabled)
        return self.rows.within(item.unit, b"\x01" * self.rows.size(item.unit) if scope is None else scope)

    def _counts(self, item: Measured) -> tuple[int, int]:
        """Return (complete, counted) for one field."""
        holding = self.rows.holding(item.unit, item.output)
        present = holding.count(1)
        counted = present + both(self._scope(item), negate(holding)).count(1)
        return present - self._incomplete(item), counted

    def _incomplete(self, item: Measured) -> int:
        """Return how many base rows hold the field as `not_recorded` (blanks become that at finalize)."""
        if item.field.usage != "R":
            return 0
        return self._not_recorded(item.unit, item.output).count(1)

    def _not_recorded(self, unit: str, output: str) -> Mask:
        """Return the base rows holding `not_recorded`."""
        coded = self.rows.codes(unit, output, number=False)
        if coded is None:
            column = self.rows.column(unit, output)
            found = bytes(map(eq, column, repeat(NOT_RECORDED)))
        else:
            marker = freeze(NOT_RECORDED)
            found = coded.rows_where(bytes(v == marker for v in coded.distinct))
        return self.rows.within(unit, found)

    def fields(self) -> list[Figures]:
        """Return the figures of every measured field that is enabled somewhere."""
        found = []
        for item in self.measured:
            figures = rate_figures(*self._counts(item))
            found.append({"field": item.field.id, "label": item.field.label, **figures})
        return found

    def total(self) -> Figures:
        """Return the figures summed over all measured fields, with the per-field list."""
        fields = self.fields()
        numerator = sum(f["numerator"] for f in fields)
        denominator = sum(f["denominator"] for f in fields)
        return {**rate_figures(numerator, denominator), "fields": fields}

    def _row_totals(self, unit: str) -> tuple[list[int], list[int]]:
        """Return, per row of a unit, how many measured fields are complete and how many count."""
        if unit not in self._totals:
            size = self.rows.size(unit)
            complete, counted = [0] * size, [0] * size
            for item in (m for m in self.measured if m.unit == unit):
                holding = self.rows.holding(unit, item.output)
                counted = list(map(add, counted, either(holding, self._scope(item))))
                if item.field.usage == "R":
                    holding = both(holding, negate(self._not_recorded(unit, item.output)))
                complete = list(map(add, complete, holding))
            self._totals[unit] = (complete, counted)
        return self._totals[unit]

    def by_dim(self, dim: str) -> dict[Any, Figures]:
        """Return the summed figures per cell of a breakdown dimension (e.g. month, agency)."""
        nums: Counter[Any] = Counter()
        dens: Counter[Any] = Counter()
        universe: set[Any] = set()
        for unit in ("encounter", "person"):
            complete, counted = self._row_totals(unit)
            cells = self.rows.split(unit, dim)
            universe.update(cells.universe)
            nums.update(cells.sums(complete))
            dens.update(cells.sums(counted))
        return {c: rate_figures(nums[c], dens[c]) for c in ordered(universe)}
