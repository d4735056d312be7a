"""The operator console's API product pages: staff only, create, price, switch, import."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from plans.models import Meter, MeterPrice, Plan
from products.catalogue import catalogue_reset
from products.document_import import document_apply
from products.models import ApiProduct, UnitRule
from products.services import product_create
from tests.factories import UserFactory
from tests.products.documents import as_json, as_yaml, small_document


@pytest.fixture(autouse=True)
def _fresh_catalogue():
    catalogue_reset()
    yield
    catalogue_reset()


@pytest.fixture
def operator_client(client, db):
    client.force_login(UserFactory(is_staff=True))
    return client


@pytest.fixture
def product(db):
    product = product_create(
        name="Messaging", slug="messaging", base_path="/v1/messaging", upstream_url="https://upstream.example"
    )
    document_apply(product=product, text=as_json(small_document()), user=None)
    return product


@pytest.mark.parametrize(
    "path",
    [
        "/console/products/",
        "/console/products/messaging/",
        "/console/products/messaging/import/",
    ],
)
def test_pages_are_staff_only(client, member_client, product, path):
    assert member_client.get(path).status_code == 302  # to the admin login, like the overview
    assert client.__class__().get(path).status_code == 302


def test_operator_creates_a_product_and_is_sent_to_import(operator_client, db):
    response = operator_client.post(
        "/console/products/",
        {
            "name": "Payments",
            "slug": "payments",
            "base_path": "/v1/payments",
            "upstream_url": "https://pay.example",
            "connect_timeout_s": "5",
            "read_timeout_s": "30",
            "max_request_bytes": 1024,
            "max_response_bytes": 2048,
            "visibility": "public",
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/console/products/payments/import/"
    assert ApiProduct.objects.get(slug="payments").max_response_bytes == 2048


def test_invalid_product_shows_field_errors(operator_client, product):
    response = operator_client.post(
        "/console/products/",
        {
            "name": "Clash",
            "slug": "clash",
            "base_path": "/v1/messaging/eu",
            "upstream_url": "https://x.example",
            "connect_timeout_s": "5",
            "read_timeout_s": "30",
            "max_request_bytes": 1,
            "max_response_bytes": 1,
            "visibility": "public",
            "organizations": "no-such-org",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Unknown organizations: no-such-org." in html


def test_product_page_lists_operations_by_tag_with_prices(operator_client, product):
    meter = Meter.objects.create(code="messages.sent", name="Messages", unit_label="message")
    pro = Plan.objects.create(code="pro", name="Pro", sort_order=1)
    MeterPrice.objects.create(plan=pro, meter=meter, currency="NGN", unit_price=Decimal("5"))
    send = product.operations.get(operation_id="messages_send")
    send.meter, send.unit_rule, send.units_fixed = meter, UnitRule.FIXED, 2
    send.save()

    html = operator_client.get("/console/products/messaging/").content.decode()

    assert "Messages" in html and "Untagged" in html
    assert "/v1/messaging/messages/{id}" in html and "messages.sent" in html
    assert "₦10 / call" in html  # 2 units × ₦5 on Pro
    assert 'role="switch"' in html


def test_enabled_switch_toggles_an_operation(operator_client, product):
    op = product.operations.get(operation_id="messages_list")
    url = f"/console/products/messaging/operations/{op.pk}/toggle/"
    response = operator_client.post(url, {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="op-{op.pk}"' in response.content.decode()
    op.refresh_from_db()
    assert not op.enabled
    operator_client.post(url, {"enabled": "on"}, HTTP_HX_REQUEST="true")
    op.refresh_from_db()
    assert op.enabled


def test_operation_edit_form_loads_and_saves(operator_client, product):
    Meter.objects.create(code="messages.sent", name="Messages", unit_label="message")
    op = product.operations.get(operation_id="messages_send")
    url = f"/console/products/messaging/operations/{op.pk}/"
    assert 'name="unit_rule"' in operator_client.get(url).content.decode()

    response = operator_client.post(
        url,
        {
            "meter": "messages.sent",
            "unit_rule": "request_json_array_length",
            "units_fixed": 1,
            "unit_source": "to",
            "max_units": 100,
            "required_scope": "",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200 and "Saved" in response.content.decode()
    op.refresh_from_db()
    assert (op.meter.code, op.unit_rule, op.unit_source, op.required_scope) == (
        "messages.sent",
        "request_json_array_length",
        "/to",
        "messages_send",
    )

    bad = operator_client.post(
        url,
        {
            "meter": "messages.sent",
            "unit_rule": "response_header",
            "units_fixed": 1,
            "unit_source": "bad header",
            "max_units": 1,
        },
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422 and "response header" in bad.content.decode()


def test_import_shows_located_errors(operator_client, product):
    upload = SimpleUploadedFile("openapi.yaml", b"openapi: 3.0.3\ninfo:\n  title: x\npaths: {}\n")
    response = operator_client.post("/console/products/messaging/import/", {"file": upload})
    html = response.content.decode()
    assert response.status_code == 422 and "nothing was imported" in html
    assert "/info" in html and "line 3, column 3" in html


def test_import_previews_then_applies_the_diff(operator_client, product):
    document = small_document()
    del document["paths"]["/messages/{id}"]["delete"]
    document["paths"]["/status"] = {"get": {"operationId": "status_get", "responses": {"200": {"description": "ok"}}}}

    preview = operator_client.post("/console/products/messaging/import/", {"text": as_yaml(document)})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "1 added" in html and "1 removed" in html and "status_get" in html and "messages_delete" in html
    sha256 = html.split('name="sha256" value="')[1].split('"')[0]

    applied = operator_client.post("/console/products/messaging/import/apply/", {"sha256": sha256})

    assert applied.status_code == 302 and applied["Location"] == "/console/products/messaging/"
    assert product.documents.get(is_current=True).version == 2
    assert not product.operations.get(operation_id="status_get").enabled  # the box was not ticked
    assert product.operations.get(operation_id="messages_delete").removed_at is not None


def test_apply_of_an_expired_preview_asks_to_upload_again(operator_client, product):
    response = operator_client.post("/console/products/messaging/import/apply/", {"sha256": "0" * 64}, follow=True)
    assert "expired" in response.content.decode()
