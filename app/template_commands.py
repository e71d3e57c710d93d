"""`crewlog template validate|import|list|activate`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app import audit, template_versions

if TYPE_CHECKING:
    from app.cli import Instance


def run(args: argparse.Namespace, inst: Instance) -> int:
    """Run one template action; return the exit code."""
    from forms.loader import TemplateError, load_template

    if args.template_command in ("validate", "import"):
        try:
            template = load_template(args.file)
        except TemplateError as error:
            for line in error.errors:
                print(line)
            print(f"{args.file}: {len(error.errors)} problem(s); the template was not loaded")
            return 1
        if args.template_command == "validate":
            from forms.describe import summarize

            print(summarize(template))
            return 0
        return _import(inst, template, args.activate)
    if args.template_command == "list":
        for row in template_versions.list_all(inst.db):
            print(
                f"{row['id']}\t{row['version']}\t{'active' if row['active'] else '-'}\t{row['imported_at']}"
            )
        return 0
    template_versions.activate(inst.db, args.id, args.version)
    audit.record(inst.db, "cli", "template.activate", f"{args.id} {args.version}")
    print(f"active template: {args.id} {args.version}")
    return 0


def _import(inst: Instance, template: object, activate: bool) -> int:
    from forms.describe import diff_templates
    from forms.model import Template

    assert isinstance(template, Template)
    current = template_versions.active(inst.db)
    added = template_versions.import_template(inst.db, template, activate=activate)
    audit.record(
        inst.db, "cli", "template.import", f"{template.id} {template.version}", {"activate": activate}
    )
    print(
        f"template {template.id} {template.version} {'imported' if added else 'already held'}"
        f"{' and activated' if activate else ''}"
    )
    if current is not None and (current.id, current.version) != (template.id, template.version):
        for line in diff_templates(current, template):
            print(f"  {line}")
    return 0
