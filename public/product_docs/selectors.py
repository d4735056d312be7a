"""Reads for the product docs: which products a viewer sees, and everything one build of the
merged document needs about them (a fixed number of queries, whatever the catalogue size)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import Organization
from products.models import ApiDocument, ApiProduct, Operation, UnitRule
from products.selectors import products_visible_to


def visible_product_ids(*, org: Organization | None) -> tuple[int, ...]:
    """The ids of the active products ``org`` may see (``None``: a visitor), sorted — part of
    the merged document's cache key."""
    return tuple(sorted(products_visible_to(org=org).values_list("pk", flat=True)))


@dataclass
class ProductDocs:
    """One product as its docs show it: the current document (parsed) and the operations
    customers can call, by route (``("POST", "/messages")``)."""

    product: ApiProduct
    document: dict[str, Any]
    operations: dict[tuple[str, str], Operation] = field(default_factory=dict)

    @property
    def plan_codes(self) -> frozenset[str]:
        """The plans that include the product; empty = every plan."""
        return frozenset(plan.code for plan in self.product.plans.all())


def product_docs_load(*, product_ids: tuple[int, ...]) -> list[ProductDocs]:
    """Each product with a current document, by name, with its enabled live operations
    (four queries)."""
    products = ApiProduct.objects.filter(pk__in=product_ids, is_active=True).prefetch_related("plans")
    documents = dict(
        ApiDocument.objects.filter(product_id__in=product_ids, is_current=True).values_list("product_id", "parsed")
    )
    loaded = {
        product.pk: ProductDocs(product=product, document=documents[product.pk])
        for product in products.order_by("name", "id")
        if product.pk in documents
    }
    operations = (
        Operation.objects.filter(product_id__in=loaded.keys(), enabled=True, removed_at__isnull=True)
        .select_related("meter")
        .defer("parameters", "request_body", "responses", "fingerprint")
    )
    for operation in operations:
        loaded[operation.product_id].operations[(operation.method, operation.path_template)] = operation
    return list(loaded.values())


def priced_operations(docs: ProductDocs) -> list[Operation]:
    """The operations of a product that cost something, in the document's order of routes."""
    return sorted(
        (op for op in docs.operations.values() if op.unit_rule != UnitRule.FREE and op.meter is not None),
        key=lambda op: (op.tag.lower(), op.path_template, op.method),
    )
