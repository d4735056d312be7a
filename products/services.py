"""Writes for API products: create and change products, import documents, price operations.

Every write announces itself to the hot path with ``catalogue_changed()`` (after commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from plans.models import Meter, Plan
from portal.problems import Problem
from products.catalogue import catalogue_changed
from products.diff import ExistingOperation, ImportPreview, operations_diff
from products.models import ApiDocument, ApiProduct, Operation, UnitRule
from products.operation_ids import ids_assign
from products.reading import document_read
from products.validators import base_paths_overlap


class ProductInvalid(Problem):
    status, slug, title = 400, "validation-error", "Your request is not valid"


class DocumentInvalid(Problem):
    """The OpenAPI document could not be imported: `errors` lists each problem with its JSON
    pointer, a message and, when known, the line and column in the text that was sent."""

    status, slug, title = 400, "invalid-openapi-document", "Invalid OpenAPI document"


PRODUCT_OPTIONS = frozenset(
    {
        "description",
        "upstream_auth_header",
        "upstream_auth_secret",
        "connect_timeout_s",
        "read_timeout_s",
        "max_request_bytes",
        "max_response_bytes",
        "visibility",
        "is_active",
    }
)
PRODUCT_EDITABLE = PRODUCT_OPTIONS | {"name", "base_path", "upstream_url"}
OPERATION_EDITABLE = frozenset(
    {
        "meter",
        "unit_rule",
        "units_fixed",
        "unit_source",
        "max_units",
        "required_scope",
        "enabled",
    }
)
# Serializes base-path checks across transactions: overlap is a property of two rows.
_BASE_PATH_LOCK = 0x70726F64  # "prod"


@transaction.atomic
def product_create(
    *,
    name: str,
    slug: str,
    base_path: str,
    upstream_url: str,
    organizations: Iterable[Organization] = (),
    plans: Iterable[Plan] = (),
    **options: Any,
) -> ApiProduct:
    """A new API product (no operations until a document is imported)."""
    unknown = set(options) - PRODUCT_OPTIONS
    if unknown:
        raise TypeError(f"unknown product options: {', '.join(sorted(unknown))}")
    product = ApiProduct(name=name, slug=slug, base_path=base_path, upstream_url=upstream_url, **options)
    _product_save(product)
    product.organizations.set(organizations)
    product.plans.set(plans)
    catalogue_changed()
    return product


@transaction.atomic
def product_update(
    *,
    product: ApiProduct,
    organizations: Iterable[Organization] | None = None,
    plans: Iterable[Plan] | None = None,
    **changes: Any,
) -> ApiProduct:
    unknown = set(changes) - PRODUCT_EDITABLE
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(product, name, value)
    _product_save(product)
    if organizations is not None:
        product.organizations.set(organizations)
    if plans is not None:
        product.plans.set(plans)
    catalogue_changed()
    return product


def _product_save(product: ApiProduct) -> None:
    product.upstream_url = product.upstream_url.strip().rstrip("/")
    errors: dict[str, list[str]] = {}
    try:
        product.full_clean(exclude=["organizations", "plans"])
    except ValidationError as exc:
        errors = dict(exc.message_dict)
    if bool(product.upstream_auth_header) != bool(product.upstream_auth_secret):
        errors.setdefault("upstream_auth_secret", []).append(
            "Set both the upstream auth header and its secret, or neither."
        )
    if "base_path" not in errors:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BASE_PATH_LOCK])
        others = ApiProduct.objects.exclude(pk=product.pk).values_list("base_path", flat=True)
        clash = next((other for other in others if base_paths_overlap(product.base_path, other)), None)
        if clash:
            errors["base_path"] = [f"{product.base_path} overlaps the base path {clash} of another product."]
    if errors:
        raise ProductInvalid("One or more fields are invalid; see `errors`.", errors=errors)
    product.save()


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
    fields = [
        "method",
        "path_template",
        "summary",
        "description",
        "tag",
        "parameters",
        "request_body",
        "responses",
        "fingerprint",
        "removed_at",
        "enabled",
        "updated_at",
    ]
    Operation.objects.bulk_update(updated, fields, batch_size=200)
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
    for name in (
        "method",
        "path_template",
        "summary",
        "description",
        "tag",
        "parameters",
        "request_body",
        "responses",
        "fingerprint",
    ):
        setattr(row, name, getattr(spec, name))


def _existing_operations(product: ApiProduct) -> list[ExistingOperation]:
    rows = product.operations.values_list(
        "operation_id",
        "method",
        "path_template",
        "summary",
        "description",
        "tag",
        "parameters",
        "request_body",
        "responses",
        "fingerprint",
        "removed_at",
    )
    return [ExistingOperation(*row[:-1], removed=row[-1] is not None) for row in rows]


def _known_routes(existing: list[ExistingOperation]) -> dict[tuple[str, str], str]:
    known: dict[tuple[str, str], str] = {}
    for op in sorted(existing, key=lambda op: not op.removed):  # live ones last: they win
        known[(op.method, op.path_template)] = op.operation_id
    return known


@transaction.atomic
def operation_update(*, operation: Operation, **changes: Any) -> Operation:
    """Change an operation's price rule, scope or switch. The free rule and "no meter" are the
    same thing: setting either sets the other; choosing a meter for a free operation makes it
    cost a fixed number of units."""
    unknown = set(changes) - OPERATION_EDITABLE
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(operation, name, value)
    meter_given, rule_given = "meter" in changes, "unit_rule" in changes
    if meter_given and not rule_given:
        if operation.meter is None:
            operation.unit_rule = UnitRule.FREE
        elif operation.unit_rule == UnitRule.FREE:
            operation.unit_rule = UnitRule.FIXED
    elif rule_given and not meter_given and operation.unit_rule == UnitRule.FREE:
        operation.meter = None
    if operation.unit_rule in (UnitRule.FIXED, UnitRule.FREE) and "unit_source" not in changes:
        operation.unit_source = ""
    operation.required_scope = (operation.required_scope or "").strip() or operation.operation_id
    errors: dict[str, list[str]] = {}
    if operation.enabled and operation.removed_at is not None:
        errors["enabled"] = ["This operation is no longer in the document; import a document that has it first."]
    try:
        operation.full_clean(exclude=["product", "parameters", "request_body", "responses"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ProductInvalid("One or more fields are invalid; see `errors`.", errors=errors)
    operation.save()
    catalogue_changed()
    return operation


def meter_by_code(code: str | None) -> Meter | None:
    if not code:
        return None
    meter = Meter.objects.filter(code=code).first()
    if meter is None:
        raise ProductInvalid("Unknown meter.", errors={"meter": [f"No meter with code {code!r}."]})
    return meter
