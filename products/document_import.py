"""Importing an OpenAPI document into a product: the preview (errors or diff) and the apply.

Apply protocol, in one transaction (the product row is locked: one import at a time):
1. Read the text (``products.reading``: parse, validate, operations; remembered by SHA-256).
2. Diff against the product's operations, matched by operation id (``products.diff``).
3. Removed operations: disabled and ``removed_at`` set — never deleted.
4. Operations moving to another route step out of the live-route unique index first, so two
   that swap routes in one import never collide halfway; then every changed or returning
   operation is written with its new document fields — its price rule, scope and switch kept.
5. New operations are created free (enabled per ``enable_new``).
6. The document becomes the product's current version; the catalogue is told after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from portal.problems import Problem
from products.catalogue import catalogue_changed
from products.diff import ExistingOperation, ImportPreview, operations_diff
from products.models import DOCUMENT_FIELDS, ApiDocument, ApiProduct, Operation, UnitRule
from products.operation_ids import ids_assign
from products.reading import document_read


class DocumentInvalid(Problem):
    """The OpenAPI document could not be imported: `errors` lists each problem with its JSON
    pointer, a message and, when known, the line and column in the text that was sent."""

    status, slug, title = 400, "invalid-openapi-document", "Invalid OpenAPI document"


def document_diff(*, product: ApiProduct, text: str) -> ImportPreview:
    """The located errors of ``text``, or what importing it would change (nothing is written)."""
    read = document_read(text)
    if read.errors:
        return ImportPreview(errors=read.errors)
    existing = _existing_operations(product)
    specs = ids_assign(read.operations, _known_routes(existing))
    preview = operations_diff(specs, existing)
    preview.warnings = list(read.warnings)
    preview.info = read.info
    return preview


@transaction.atomic
def document_apply(*, product: ApiProduct, text: str, user: User | None, enable_new: bool = True) -> ApiDocument:
    """Import ``text`` as the product's current document, in one transaction.

    Operations matched by id keep their meter, unit rule, scope and switch; new ones start free
    (enabled per ``enable_new``); ones the document no longer has are disabled and marked
    removed, never deleted. Re-sending the current document changes nothing.
    """
    product = ApiProduct.objects.select_for_update().get(pk=product.pk)  # one import at a time
    read = document_read(text)
    if read.errors:
        raise DocumentInvalid("The document has errors; see `errors`.", errors=[e.as_dict() for e in read.errors])
    current = product.documents.filter(is_current=True).first()
    preview = document_diff(product=product, text=text)
    if current is not None and current.sha256 == read.sha256 and not preview.has_changes:
        return current
    _operations_write(product, preview, enable_new=enable_new)
    version = (product.documents.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    product.documents.filter(is_current=True).update(is_current=False)
    document = ApiDocument.objects.create(
        product=product,
        version=version,
        format=read.format,
        source=text,
        parsed=read.data,
        sha256=read.sha256,
        imported_by=user,
        is_current=True,
    )
    catalogue_changed()
    return document


def _operations_write(product: ApiProduct, preview: ImportPreview, *, enable_new: bool) -> None:
    now = timezone.now()
    rows = {op.operation_id: op for op in product.operations.all()}
    if preview.removed:
        Operation.objects.filter(pk__in=[rows[op.operation_id].pk for op in preview.removed]).update(
            removed_at=now, enabled=False, updated_at=now
        )
    # Operations that move to another route step out of the live-route unique index first, so
    # two operations that swap routes in one import never collide halfway.
    moving = [
        rows[c.spec.operation_id].pk
        for c in preview.changed
        if (c.previous_method, c.previous_path_template) != (c.spec.method, c.spec.path_template)
    ]
    if moving:
        Operation.objects.filter(pk__in=moving).update(removed_at=now, enabled=False)  # switch restored below
    updated = []
    for spec in [change.spec for change in preview.changed] + [s for s in preview.added if s.operation_id in rows]:
        row = rows[spec.operation_id]
        if row.removed_at is not None and spec.operation_id in preview.restored:
            row.enabled = enable_new
        row.removed_at = None
        _copy_spec(row, spec)
        row.updated_at = now
        updated.append(row)
    Operation.objects.bulk_update(updated, [*DOCUMENT_FIELDS, "removed_at", "enabled", "updated_at"], batch_size=200)
    created = []
    for spec in preview.added:
        if spec.operation_id not in rows:
            row = Operation(
                product=product,
                operation_id=spec.operation_id,
                required_scope=spec.operation_id,
                unit_rule=UnitRule.FREE,
                enabled=enable_new,
                created_at=now,
            )
            _copy_spec(row, spec)
            created.append(row)
    Operation.objects.bulk_create(created, batch_size=200)


def _copy_spec(row: Operation, spec: Any) -> None:
    for name in DOCUMENT_FIELDS:
        setattr(row, name, getattr(spec, name))


def _existing_operations(product: ApiProduct) -> list[ExistingOperation]:
    rows = product.operations.values("operation_id", *DOCUMENT_FIELDS, "removed_at")
    return [
        ExistingOperation(
            **{name: row[name] for name in ("operation_id", *DOCUMENT_FIELDS)}, removed=row["removed_at"] is not None
        )
        for row in rows
    ]


def _known_routes(existing: list[ExistingOperation]) -> dict[tuple[str, str], str]:
    known: dict[tuple[str, str], str] = {}
    for op in sorted(existing, key=lambda op: not op.removed):  # live ones last: they win
        known[(op.method, op.path_template)] = op.operation_id
    return known
