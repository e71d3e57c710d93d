"""Read template data into the model: check each entry's shape, build it from its well-formed keys.

Entries with problems are still built from what is usable, so that the cross-reference
checks can report everything else in the same pass; the loader refuses the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any

from forms import schema, shapes
from forms.model import (
    Code,
    CodeList,
    Derived,
    Field,
    Generalize,
    Group,
    Metric,
    NotValue,
    Rule,
    Section,
    Template,
)

Spec = Mapping[str, shapes.Check] | Callable[[Any], Mapping[str, shapes.Check]]


# The format's documented defaults for NOT values allowed per usage level.
DEFAULT_NOT_VALUES = {
    "M": (),
    "R": ("not_applicable", "not_recorded"),
    "Rec": ("not_applicable", "not_recorded"),
}


def _where(kind: str, listname: str, index: int, entry: Any, id_key: str = "id") -> str:
    """Name an entry by its id, or by its position when it has none."""
    ident = entry.get(id_key) if isinstance(entry, dict) else None
    return f"{kind} '{ident}'" if isinstance(ident, str) and ident else f"{kind} {listname}[{index}]"


class Reader:
    """Shape-check each part of the data and build the model from its well-formed keys."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[str] = []

    def check(
        self, where: str, entry: Any, spec: Mapping[str, shapes.Check], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Return the well-formed keys of an entry, recording problems."""
        clean, errors = schema.check_entry(where, entry, spec, required)
        self.errors += errors
        return clean

    def entries(self, listname: str, kind: str, spec: Spec, required: tuple[str, ...],
                id_key: str = "id") -> Iterator[tuple[str, dict[str, Any], Any]]:  # fmt: skip
        """Yield (where, well-formed keys, raw entry) for each entry with a new, valid id."""
        seen: dict[str, int] = {}
        raw = self.data.get(listname, [])
        for index, entry in enumerate(raw if isinstance(raw, list) else []):
            where = _where(kind, listname, index, entry, id_key)
            clean = self.check(where, entry, spec if isinstance(spec, Mapping) else spec(entry), required)
            ident = clean.get(id_key)
            if ident is None:
                continue
            if ident in seen:
                self.errors.append(f"{where}: duplicate id (also defined at {listname}[{seen[ident]}])")
                continue
            seen[ident] = index
            yield where, clean, entry

    def read(self) -> Template:
        """Build the Template from the data."""
        self.check("template file", self.data, schema.TOP_LEVEL, schema.TOP_REQUIRED)
        head = self.check(
            "template", self.data.get("template", {}), schema.TEMPLATE, schema.TEMPLATE_REQUIRED
        )
        sections = self.sections()
        return Template(
            id=head.get("id", ""),
            version=head.get("version", ""),
            title=head.get("title", ""),
            effective_date=head.get("effective_date", ""),
            parameters=self.named("parameters", "parameter", shapes.plain),
            not_values=self.not_values(),
            sections=sections,
            groups=self.groups(),
            fields=self.fields({s.id: s.group for s in sections}),
            code_lists=self.code_lists(),
            filters=self.named("filters", "filter", shapes.table),
            derived=self.derived(),
            rules=self.rules(),
            breakdowns={
                k: tuple(v)
                for k, v in self.named("breakdowns", "breakdown", shapes.text_list, shapes.rule_ident).items()
            },
            metrics=self.metrics(),
            source=self.data,
        )

    def named(
        self, key: str, kind: str, check: shapes.Check, names: shapes.Check = shapes.ident
    ) -> dict[str, Any]:
        """Read a table of named values (parameters, filters, breakdowns)."""
        found: dict[str, Any] = {}
        table = self.data.get(key, {})
        for name, value in table.items() if isinstance(table, dict) else []:
            problem = names("name", name) or check(f"{kind} '{name}'", value)
            if problem:
                self.errors.append(f"{kind} '{name}': {problem}")
            else:
                found[name] = value
        return found

    def not_values(self) -> dict[str, NotValue]:
        """Read the NOT value and pertinent-negative catalogue."""
        return {
            c["code"]: NotValue(c["code"], c.get("label", c["code"]), c.get("kind", "not"), c.get("nemsis"))
            for _, c, _ in self.entries(
                "not_values", "not value", schema.NOT_VALUE, schema.NOT_VALUE_REQUIRED, "code"
            )
        }

    def sections(self) -> tuple[Section, ...]:
        """Read the form sections."""
        return tuple(
            Section(c["id"], c.get("title", c["id"]), c.get("group"), c.get("title_i18n", {}))
            for _, c, _ in self.entries("sections", "section", schema.SECTION, schema.SECTION_REQUIRED)
        )

    def groups(self) -> dict[str, Group]:
        """Read the repeat groups."""
        return {
            c["id"]: Group(
                id=c["id"],
                label=c.get("label", c["id"]),
                relevant=c.get("relevant"),
                min_rows=c.get("min_rows", 1),
                max_rows=c.get("max_rows", 50),
                sequence_field=c.get("sequence_field"),
                count_field=c.get("count_field"),
                label_i18n=c.get("label_i18n", {}),
                row_label=c.get("row_label"),
                row_label_i18n=c.get("row_label_i18n", {}),
            )
            for _, c, _ in self.entries("groups", "group", schema.GROUP, schema.GROUP_REQUIRED)
        }

    def fields(self, section_groups: dict[str, str | None]) -> dict[str, Field]:
        """Read the fields."""
        return {
            c["id"]: self.field(where, c, section_groups)
            for where, c, _ in self.entries("fields", "field", schema.FIELD, schema.FIELD_REQUIRED)
        }

    def field(self, where: str, c: dict[str, Any], section_groups: dict[str, str | None]) -> Field:
        """Build one field, checking its nested tables."""
        usage = c.get("usage", "O")
        generalize, auto_value = self.generalize(where, c), self.auto_value(where, c)
        default_nv = DEFAULT_NOT_VALUES.get(usage, ())
        return Field(
            id=c["id"],
            section=c.get("section", ""),
            label=c.get("label", c["id"]),
            type=c.get("type", "text"),
            usage=usage,
            tier=c.get("tier", "core"),
            input=c.get("input", "text"),
            privacy=c.get("privacy", "pii"),
            to_state=c.get("to_state", "never"),
            group=section_groups.get(c.get("section", "")),
            help=c.get("help"),
            code_list=c.get("code_list"),
            now_button=c.get("now_button", False),
            generalize=generalize,
            relevant=c.get("relevant"),
            not_values=tuple(c.get("not_values", [v for v in default_nv if v in self.not_codes])),
            pertinent_negatives=tuple(c.get("pertinent_negatives", ())),
            min=c.get("min"),
            max=c.get("max"),
            max_length=c.get("max_length"),
            pattern=c.get("pattern"),
            min_items=c.get("min_items"),
            must_be_true=c.get("must_be_true", False),
            default=c.get("default"),
            auto_value=auto_value,
            nemsis=c.get("nemsis"),
            label_i18n=c.get("label_i18n", {}),
            help_i18n=c.get("help_i18n", {}),
        )

    def generalize(self, where: str, c: dict[str, Any]) -> Generalize | None:
        """Read a field's generalize table, if any."""
        if "generalize" not in c:
            return None
        g = self.check(f"{where}: generalize", c["generalize"], schema.GENERALIZE, schema.GENERALIZE_REQUIRED)
        return (
            Generalize(g["method"], g["output"], g.get("purpose"))
            if {"method", "output"} <= g.keys()
            else None
        )

    def auto_value(self, where: str, c: dict[str, Any]) -> dict[str, Any] | None:
        """Read a field's auto_value table, if any."""
        if "auto_value" not in c:
            return None
        a = self.check(f"{where}: auto_value", c["auto_value"], schema.AUTO_VALUE, schema.AUTO_VALUE_REQUIRED)
        return a if {"value", "when"} <= a.keys() else None

    @cached_property
    def not_codes(self) -> set[str]:
        """Return the codes of the NOT value catalogue as written."""
        raw = self.data.get("not_values", [])
        return {str(e.get("code")) for e in raw if isinstance(e, dict)} if isinstance(raw, list) else set()

    def code_lists(self) -> dict[str, CodeList]:
        """Read the code lists."""
        found: dict[str, CodeList] = {}
        for name, value in self.named("code_lists", "code list", shapes.table).items():
            where = f"code list '{name}'"
            c = self.check(where, value, schema.CODE_LIST, schema.CODE_LIST_REQUIRED)
            found[name] = CodeList(name, self.codes(where, c.get("codes", [])), c.get("external", False),
                                   c.get("pattern"), c.get("output_only", False))  # fmt: skip
        return found

    def codes(self, where: str, raw: list[Any]) -> tuple[Code, ...]:
        """Read the codes of one list, reporting duplicates."""
        codes: dict[str, Code] = {}
        for index, entry in enumerate(raw):
            c = entry
            if not schema.plain_code(entry):
                c = self.check(f"{where}: codes[{index}]", entry, schema.CODE, schema.CODE_REQUIRED)
            if "code" not in c:
                continue
            if c["code"] in codes:
                self.errors.append(f"{where}: duplicate code '{c['code']}' (codes[{index}])")
                continue
            codes[c["code"]] = Code(
                c["code"], c.get("label", c["code"]), c.get("nemsis"), c.get("label_i18n", {})
            )
        return tuple(codes.values())

    def derived(self) -> tuple[Derived, ...]:
        """Read the derived values."""
        return tuple(
            Derived(
                c["id"],
                c.get("level", "encounter"),
                c.get("kind", "seconds"),
                _ids(c.get("start")),
                _ids(c.get("end")),
                c.get("when"),
            )
            for _, c, _ in self.entries("derived", "derived", schema.DERIVED, schema.DERIVED_REQUIRED)
        )

    def rules(self) -> tuple[Rule, ...]:
        """Read the cross-field rules."""
        rules = []
        for _, c, raw in self.entries("rules", "rule", schema.rule_keys, schema.RULE_REQUIRED):
            kind = c.get("kind", "")
            missing = [k for k in schema.RULE_KIND_REQUIRED.get(kind, ()) if k not in raw]
            self.errors += [f"rule '{c['id']}': kind '{kind}' needs key '{k}'" for k in missing]
            spec = {k: v for k, v in c.items() if k not in schema.RULE_COMMON}
            rules.append(Rule(c["id"], c.get("severity", "ERROR"), kind, c.get("message", ""),
                              c.get("level", "encounter"), spec, c.get("message_i18n", {})))  # fmt: skip
        return tuple(rules)

    def metrics(self) -> tuple[Metric, ...]:
        """Read the metric definitions."""
        metrics = []
        for _, c, raw in self.entries("metrics", "metric", schema.metric_keys, schema.METRIC_REQUIRED):
            kind = c.get("kind", "")
            missing = [k for k in schema.METRIC_KIND_REQUIRED.get(kind, ()) if k not in raw]
            self.errors += [f"metric '{c['id']}': kind '{kind}' needs key '{k}'" for k in missing]
            spec = {k: v for k, v in c.items() if k not in schema.METRIC_COMMON or k == "min_period_age_h"}
            metrics.append(Metric(c["id"], kind, c.get("unit", "encounter"), c.get("label", c["id"]), spec,
                                  tuple(c.get("breakdowns", ()))))  # fmt: skip
        return tuple(metrics)


def _ids(value: Any) -> tuple[str, ...]:
    """Return one id or a list of ids as a tuple."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
