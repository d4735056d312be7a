from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from plans.models import Meter, MeterPrice, Plan
from plans.services import plans_seed_demo
from products.document_import import document_apply
from products.models import ApiProduct, Visibility
from products.services import operation_update, product_create
from tests.products.documents import as_yaml, small_document

FIXTURES = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "openapi"


@pytest.fixture
def demo_plans(db):
    """The demo plans, prices and meter prices (Free, Pay as you go, Pro, Enterprise)."""
    return plans_seed_demo()


def fixture_text(name: str) -> str:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip("shared fixtures are not beside the checkout")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def transfers_meter(demo_plans) -> Meter:
    """A meter priced on Pay as you go (NGN) and Pro (NGN and USD, 100 included)."""
    meter = Meter.objects.create(code="transfers.sent", name="Transfers", unit_label="transfer")
    plans = {plan.code: plan for plan in Plan.objects.all()}
    MeterPrice.objects.create(plan=plans["payg"], meter=meter, currency="NGN", unit_price=Decimal("30"))
    MeterPrice.objects.create(
        plan=plans["pro"], meter=meter, currency="NGN", unit_price=Decimal("25"), included_units=100
    )
    MeterPrice.objects.create(
        plan=plans["pro"], meter=meter, currency="USD", unit_price=Decimal("0.02"), included_units=100
    )
    return meter


@pytest.fixture
def imported_products(transfers_meter) -> dict[str, ApiProduct]:
    """Paystack (YAML, JSON and form bodies) and Twilio (JSON, form bodies only) imported as
    public products; Paystack's bulk transfer priced per item of ``transfers``."""
    paystack = product_create(
        name="Paystack Betting", slug="paystack", base_path="/v1/paystack", upstream_url="https://api.paystack.example"
    )
    document_apply(product=paystack, text=fixture_text("paystack_betting.yaml"), user=None)
    twilio = product_create(
        name="Twilio Messaging", slug="twilio", base_path="/v1/twilio", upstream_url="https://messaging.twilio.example"
    )
    document_apply(product=twilio, text=fixture_text("twilio_messaging_v1.json"), user=None)
    operation_update(
        operation=paystack.operations.get(operation_id="transfer_bulk"),
        meter=transfers_meter,
        unit_rule="request_json_array_length",
        unit_source="/transfers",
    )
    return {"paystack": paystack, "twilio": twilio}


@pytest.fixture
def private_product(transfers_meter, other_org) -> ApiProduct:
    """A private product given to ``other_org`` only, with one priced operation."""
    product = product_create(
        name="Secret Messaging",
        slug="secret",
        base_path="/v1/secret",
        upstream_url="https://secret.example",
        visibility=Visibility.PRIVATE,
        organizations=[other_org],
    )
    document_apply(product=product, text=as_yaml(small_document()), user=None)
    operation_update(operation=product.operations.get(operation_id="messages_send"), meter=transfers_meter)
    return product
