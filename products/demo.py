"""The demo product: the seed article's SMS, delivery and AI API, imported from an OpenAPI
document and priced like an operator would do it in the console — no Python table of sellable
operations. ``seed_demo`` (``make run``) and the tests create it through these services.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from plans.models import Meter
from plans.services import plans_seed_demo
from products.document_import import document_apply
from products.models import ApiProduct, UnitRule
from products.services import operation_update, product_create, product_update

DEMO_DOCUMENT = Path(__file__).with_name("demo_openapi.yaml")
DEMO_SLUG = "demo"
DEMO_BASE_PATH = "/v1/demo"
# operation id → (meter, unit rule, unit source, max units reserved for reported units)
DEMO_PRICING = {
    "sms_send": ("sms.sent", UnitRule.REQUEST_JSON_ARRAY_LENGTH, "/to", 100),
    "delivery_status_get": ("delivery.status_check", UnitRule.FIXED, "", 1),
    "ai_completion_create": ("ai.tokens", UnitRule.RESPONSE_JSON_FIELD, "/usage/total_tokens", 10_000),
}


@transaction.atomic
def demo_product_seed(*, upstream_url: str | None = None) -> ApiProduct:
    """Create or update the demo plans and the demo product (idempotent): import its document,
    then price each operation unless the operator already changed it."""
    plans_seed_demo()
    upstream_url = (upstream_url or settings.DEMO_UPSTREAM_URL).rstrip("/")
    product = ApiProduct.objects.filter(slug=DEMO_SLUG).first()
    if product is None:
        product = product_create(
            name="Messaging & AI (demo)",
            slug=DEMO_SLUG,
            base_path=DEMO_BASE_PATH,
            upstream_url=upstream_url,
            description="SMS, delivery status and text generation: the seed article's API, served by a local upstream.",
        )
    elif product.upstream_url != upstream_url:
        product = product_update(product=product, upstream_url=upstream_url)
    document_apply(product=product, text=DEMO_DOCUMENT.read_text(), user=None)
    meters = {meter.code: meter for meter in Meter.objects.all()}
    for operation in product.operations.filter(removed_at__isnull=True, operation_id__in=DEMO_PRICING):
        if operation.meter_id is not None:
            continue  # priced already (by this seed or by the operator): keep it
        meter, rule, source, max_units = DEMO_PRICING[operation.operation_id]
        operation_update(
            operation=operation, meter=meters[meter], unit_rule=rule, unit_source=source, max_units=max_units
        )
    return product
