"""Who sees which product, and the per-plan price preview."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plans.models import Meter, MeterPrice
from products.document_import import document_apply
from products.models import UnitRule, Visibility
from products.selectors import operation_price_preview, operations_by_tag, products_visible_to
from products.services import operation_update, product_create, product_update
from tests.products.conftest import organization_make, plan_make
from tests.products.documents import as_json, small_document


def test_a_private_product_is_visible_only_to_its_organizations(db):
    mine, other = organization_make("mine"), organization_make("other")
    public = product_create(name="Public", slug="public", base_path="/v1/public", upstream_url="https://a.example")
    private = product_create(
        name="Private",
        slug="private",
        base_path="/v1/private",
        upstream_url="https://b.example",
        visibility=Visibility.PRIVATE,
        organizations=[mine],
    )
    product_create(name="Off", slug="off", base_path="/v1/off", upstream_url="https://c.example", is_active=False)

    assert set(products_visible_to(org=mine)) == {public, private}
    assert set(products_visible_to(org=other)) == {public}
    assert set(products_visible_to(org=None)) == {public}

    product_update(product=private, organizations=[])  # access withdrawn
    assert set(products_visible_to(org=mine)) == {public}


def test_operations_are_grouped_by_tag_with_removed_ones_last(product):
    document = small_document()
    document["paths"]["/messages/{id}"]["get"]["tags"] = ["Archive"]
    document_apply(product=product, text=as_json(document), user=None)
    del document["paths"]["/messages/{id}"]["delete"]
    document_apply(product=product, text=as_json(document), user=None)

    groups = [(tag, [op.operation_id for op in ops]) for tag, ops in operations_by_tag(product=product)]

    assert groups == [
        ("Archive", ["get_messages_id"]),
        ("Messages", ["messages_list", "messages_send"]),
        ("Removed from the document", ["messages_delete"]),
    ]


@pytest.fixture
def priced(product):
    document_apply(product=product, text=as_json(small_document()), user=None)
    meter = Meter.objects.create(code="messages.sent", name="Messages", unit_label="message")
    free_plan, pro = plan_make("free"), plan_make("pro")
    MeterPrice.objects.create(plan=pro, meter=meter, currency="NGN", unit_price=Decimal("5"), included_units=1000)
    MeterPrice.objects.create(plan=pro, meter=meter, currency="USD", unit_price=Decimal("0.004"))
    operation_update(operation=product.operations.get(operation_id="messages_list"), meter=meter, units_fixed=3)
    operation_update(
        operation=product.operations.get(operation_id="messages_send"),
        meter=meter,
        unit_rule=UnitRule.REQUEST_JSON_ARRAY_LENGTH,
        unit_source="/to",
    )
    return product, [free_plan, pro]


def test_price_preview_per_plan_and_currency(priced):
    product, plans = priced
    operations = list(product.operations.select_related("meter"))
    preview = operation_price_preview(operations=operations, plans=plans)
    by_id = {op.operation_id: preview[op.pk] for op in operations}

    listing_free, listing_pro = by_id["messages_list"]
    assert not listing_free.free and listing_free.note == "not priced on this plan"
    assert listing_pro.prices == ("₦15 / call", "$0.012 / call") and listing_pro.note == "1,000 included"
    assert by_id["messages_send"][1].prices == ("₦5 / message", "$0.004 / message")
    assert all(price.free for price in by_id["messages_delete"])
