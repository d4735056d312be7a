"""The pricing page's API section: each product the visitor may see, with its priced operations
(operation, meter, units in words, the price on each plan that includes the product)."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import Organization
from plans.models import Plan
from plans.selectors import plans_public
from products.models import Operation, UnitRule
from products.selectors import products_visible_to
from public.pricing import meter_price_table
from public.product_docs.prices import operation_price


@dataclass
class PriceCell:
    text: str
    included: int


@dataclass
class PricedOperation:
    method: str
    path: str
    summary: str
    meter: str
    units: str
    cells: list[PriceCell | None]


@dataclass
class ProductPrices:
    name: str
    slug: str
    description: str
    plans: list[Plan]
    operations: list[PricedOperation] = field(default_factory=list)
    free_count: int = 0


def product_price_sections(*, org: Organization | None, currency: str) -> list[ProductPrices]:
    """One section per visible product with enabled operations, in ``currency``."""
    products = list(products_visible_to(org=org).prefetch_related("plans").order_by("name", "id"))
    operations = (
        Operation.objects.filter(product__in=products, enabled=True, removed_at__isnull=True)
        .select_related("meter")
        .defer("parameters", "request_body", "responses", "fingerprint", "description")
        .order_by("tag", "path_template", "method")
    )
    by_product: dict[int, list[Operation]] = {}
    for operation in operations:
        by_product.setdefault(operation.product_id, []).append(operation)
    public_plans = list(plans_public())
    price_table = meter_price_table()
    sections = []
    for product in products:
        plan_codes = frozenset(plan.code for plan in product.plans.all())
        section = ProductPrices(
            name=product.name,
            slug=product.slug,
            description=product.description,
            plans=[plan for plan in public_plans if not plan_codes or plan.code in plan_codes],
        )
        for operation in by_product.get(product.pk, []):
            if operation.unit_rule == UnitRule.FREE or operation.meter is None:
                section.free_count += 1
                continue
            price = operation_price(operation=operation, price_table=price_table, plan_codes=plan_codes)
            cells: list[PriceCell | None] = []
            for plan in section.plans:
                cell = price["plans"].get(plan.code, {}).get("currencies", {}).get(currency)
                cells.append(PriceCell(cell["text"], cell["included_units"]) if cell else None)
            section.operations.append(
                PricedOperation(
                    method=operation.method,
                    path=product.base_path + operation.path_template,
                    summary=operation.summary or operation.operation_id,
                    meter=price["name"],
                    units=price["units"],
                    cells=cells,
                )
            )
        if section.operations or section.free_count:
            sections.append(section)
    return sections
