"""Reads for API products: who sees which product, the operator's lists, price previews."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Organization
from plans.models import MeterPrice, Plan
from portal.money import format_price
from portal.problems import NotFound
from products.models import ApiDocument, ApiProduct, Operation, UnitRule, Visibility


def products_visible_to(*, org: Organization | None) -> QuerySet[ApiProduct]:
    """Active products an organization may see (docs, pricing): every public one, and the
    private ones it was given. ``org=None`` (a visitor) sees the public ones."""
    products = ApiProduct.objects.filter(is_active=True)
    if org is None:
        return products.filter(visibility=Visibility.PUBLIC)
    return products.filter(
        Q(visibility=Visibility.PUBLIC) | Q(visibility=Visibility.PRIVATE, organizations=org)
    ).distinct()


PRODUCT_SCOPE_PREFIX = "product:"  # keys.cache.KeyRecord.allows reads the same prefix


def key_scope_choices(*, org: Organization | None) -> list[tuple[str, str]]:
    """What a key of ``org`` may be limited to: each product it sees (``product:<slug>``: every
    operation of it) and each scope its live operations require, in catalogue order."""
    products = list(products_visible_to(org=org).order_by("name", "id"))
    choices = [(f"{PRODUCT_SCOPE_PREFIX}{p.slug}", f"{p.name} — every operation") for p in products]
    seen: set[str] = set()
    rows = (
        Operation.objects.filter(product__in=products, removed_at__isnull=True)
        .order_by("product__name", "tag", "path_template", "method")
        .values_list("required_scope", "method", "path_template", "product__base_path")
    )
    for scope, method, template, base_path in rows:
        if scope not in seen:
            seen.add(scope)
            choices.append((scope, f"{scope} — {method} {base_path}{template}"))
    return choices


def key_scopes_known() -> set[str]:
    """Every scope a key may name, whichever organization (validation of a key's scopes)."""
    products = {f"{PRODUCT_SCOPE_PREFIX}{slug}" for slug in ApiProduct.objects.values_list("slug", flat=True)}
    return products | set(Operation.objects.filter(removed_at__isnull=True).values_list("required_scope", flat=True))


def products_for_operator() -> QuerySet[ApiProduct]:
    """Every product with its count of live operations (the console's list)."""
    live = Q(operations__removed_at__isnull=True)
    return ApiProduct.objects.annotate(
        operation_count=Count("operations", filter=live),
        enabled_count=Count("operations", filter=live & Q(operations__enabled=True)),
    ).order_by("name", "id")


def product_get(*, slug: str) -> ApiProduct:
    product = ApiProduct.objects.filter(slug=slug).first()
    if product is None:
        raise NotFound(f"No API product {slug!r}.")
    return product


def operation_get(*, product: ApiProduct, operation_id: str) -> Operation:
    operation = product.operations.select_related("meter").filter(operation_id=operation_id).first()
    if operation is None:
        raise NotFound(f"No operation {operation_id!r} in {product.slug}.")
    return operation


def document_current(*, product: ApiProduct) -> ApiDocument | None:
    return product.documents.filter(is_current=True).defer("source", "parsed").first()


def operations_by_tag(*, product: ApiProduct) -> list[tuple[str, list[Operation]]]:
    """Live operations grouped by their first tag (untagged last), then the removed ones."""
    groups: dict[str, list[Operation]] = defaultdict(list)
    removed: list[Operation] = []
    for operation in product.operations.select_related("meter").defer("parameters", "request_body", "responses"):
        (removed if operation.removed_at else groups[operation.tag]).append(operation)
    ordered = sorted(groups.items(), key=lambda item: (item[0] == "", item[0].lower()))
    if removed:
        ordered.append(("Removed from the document", removed))
    return ordered


@dataclass(frozen=True, slots=True)
class PlanPrice:
    """What one call of an operation costs on a plan: ``prices`` per currency, or free."""

    plan: Plan
    free: bool
    prices: tuple[str, ...]
    note: str = ""


def operation_price_preview(*, operations: list[Operation], plans: list[Plan]) -> dict[int, list[PlanPrice]]:
    """Per operation id (pk), per plan: the price of a call from ``plans.MeterPrice``.

    A fixed rule costs units × unit price (the first tier's price when graduated); other rules
    show the unit price per unit of the meter. Included units are mentioned, not subtracted.
    """
    meter_ids = {op.meter_id for op in operations if op.meter_id}
    rows: dict[tuple[int, int], list[MeterPrice]] = defaultdict(list)
    for price in MeterPrice.objects.filter(meter_id__in=meter_ids, plan__in=plans).order_by("currency"):
        rows[(price.plan_id, price.meter_id)].append(price)
    preview: dict[int, list[PlanPrice]] = {}
    for op in operations:
        preview[op.pk] = [_plan_price(op, plan, rows.get((plan.pk, op.meter_id or 0), [])) for plan in plans]
    return preview


def _plan_price(op: Operation, plan: Plan, prices: list[MeterPrice]) -> PlanPrice:
    if op.meter_id is None or op.unit_rule == UnitRule.FREE:
        return PlanPrice(plan, True, ())
    if not prices:
        return PlanPrice(plan, False, (), "not priced on this plan")
    texts = []
    included = max((price.included_units for price in prices), default=0)
    for price in prices:
        unit_price = _first_unit_price(price)
        if op.unit_rule == UnitRule.FIXED:
            texts.append(format_price(unit_price * op.units_fixed, price.currency) + " / call")
        else:
            label = op.meter.unit_label if op.meter else "unit"
            texts.append(f"{format_price(unit_price, price.currency)} / {label}")
    note = f"{included:,} included" if included else ""
    return PlanPrice(plan, False, tuple(texts), note)


def _first_unit_price(price: MeterPrice) -> Decimal:
    tiers: list[dict[str, Any]] = price.tiers or []
    if tiers:
        return Decimal(str(tiers[0].get("unit_price", price.unit_price)))
    return Decimal(price.unit_price)
