"""Import an OpenAPI document into an API product from a file or stdin (an operator's CI)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.problems import NotFound
from products.diff import ImportPreview
from products.document_import import document_apply, document_diff
from products.selectors import product_get


class Command(BaseCommand):
    help = "Show what an OpenAPI document would change in a product (or its errors); --apply imports it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("product", help="The product's slug.")
        parser.add_argument("path", help="The document (JSON or YAML); - reads stdin.")
        parser.add_argument("--apply", action="store_true", help="Import it (otherwise only show the diff).")
        parser.add_argument("--disable-new", action="store_true", help="Import new operations switched off.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            product = product_get(slug=options["product"])
        except NotFound as exc:
            raise CommandError(exc.detail) from exc
        try:
            text = sys.stdin.read() if options["path"] == "-" else Path(options["path"]).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc}") from exc
        preview = document_diff(product=product, text=text)
        if not preview.ok:
            for error in preview.errors:
                where = error.pointer or "(document)"
                if error.line is not None:
                    where += f" (line {error.line}, column {error.column})"
                self.stderr.write(f"{where}: {error.message}")
            raise CommandError(f"{len(preview.errors)} error(s): nothing imported.")
        self._diff_write(preview)
        if options["apply"]:
            document = document_apply(product=product, text=text, user=None, enable_new=not options["disable_new"])
            self.stdout.write(self.style.SUCCESS(f"Imported as version {document.version} of {product.slug}."))

    def _diff_write(self, preview: ImportPreview) -> None:
        for warning in preview.warnings:
            self.stdout.write(f"warning: {warning}")
        restored = preview.restored
        for spec in preview.added:
            note = " (restored)" if spec.operation_id in restored else ""
            self.stdout.write(f"+ {spec.method} {spec.path_template} {spec.operation_id}{note}")
        for change in preview.changed:
            spec = change.spec
            self.stdout.write(f"~ {spec.method} {spec.path_template} {spec.operation_id}: {', '.join(change.changes)}")
        for op in preview.removed:
            self.stdout.write(f"- {op.method} {op.path_template} {op.operation_id}")
        self.stdout.write(
            f"{len(preview.added)} added, {len(preview.changed)} changed, {len(preview.removed)} removed, "
            f"{preview.unchanged} unchanged."
        )
