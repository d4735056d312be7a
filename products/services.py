"""Writes for API products: create and change products, price and switch operations (importing
documents is ``products.document_import``).

Every write announces itself to the hot path with ``catalogue_changed()`` (after commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import Organization
from plans.models import Plan
from portal.problems import Problem
from products.catalogue import catalogue_changed
from products.models import ApiProduct, Operation, UnitRule
from products.validators import base_paths_overlap


class ProductInvalid(Problem):
    status, slug, title = 400, "validation-error", "Your request is not valid"


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
