"""The operator API: staff only, problem+json errors, document preview and apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.access_tokens import personal_access_token_create
from accounts.models import Membership, Role
from plans.models import Meter
from products.models import ApiProduct, UnitRule
from tests.products.conftest import organization_make, plan_make
from tests.products.documents import as_json, as_yaml, small_document

CREATE = {
    "name": "Messaging",
    "slug": "messaging",
    "base_path": "/v1/messaging",
    "upstream_url": "https://upstream.example/api",
}


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/products/"),
        ("post", "/api/products/"),
        ("get", "/api/products/messaging/"),
        ("post", "/api/products/messaging/documents/"),
        ("patch", "/api/products/messaging/operations/messages_send/"),
    ],
)
def test_customers_and_visitors_are_refused(client, member_client, product, method, path):
    kwargs = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    anonymous = getattr(client.__class__(), method)(path, **kwargs)
    assert anonymous.status_code in {401, 403}
    assert anonymous["Content-Type"] == "application/problem+json"
    member = getattr(member_client, method)(path, **kwargs)
    assert member.status_code == 403 and member.json()["title"] == "Forbidden"


def test_operator_creates_and_lists_products(operator_client):
    org, plan = organization_make("acme"), plan_make("pro")
    body = {
        **CREATE,
        "visibility": "private",
        "organizations": [org.slug],
        "plans": ["pro"],
        "upstream_auth_header": "X-Api-Key",
        "upstream_auth_secret": "s3cret",
        "read_timeout_s": "12.5",
    }
    created = operator_client.post("/api/products/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["base_path"] == "/v1/messaging" and data["organizations"] == [org.slug] and data["plans"] == [plan.code]
    assert data["has_upstream_secret"] is True and "upstream_auth_secret" not in data
    assert data["read_timeout_s"] == "12.50" and data["document_version"] is None
    listed = operator_client.get("/api/products/").json()
    assert [p["slug"] for p in listed] == ["messaging"]


@pytest.mark.parametrize(
    "field,value",
    [
        ("base_path", "/v2/messaging"),
        ("base_path", "/v1/messaging/"),
        ("base_path", "/v1/a/../b"),
        ("base_path", "/v1/auth"),
        ("upstream_url", "ftp://upstream.example"),
        ("upstream_url", "https://user:pw@upstream.example"),
        ("upstream_url", "https://upstream.example/?a=1"),
    ],
)
def test_invalid_product_fields_are_validation_problems(operator_client, field, value):
    response = operator_client.post("/api/products/", {**CREATE, field: value}, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_overlapping_base_paths_are_refused(operator_client, product):
    body = {**CREATE, "slug": "eu", "base_path": "/v1/messaging/eu"}
    response = operator_client.post("/api/products/", body, content_type="application/json")
    assert response.status_code == 400
    assert "overlaps" in response.json()["errors"]["base_path"][0]


def test_document_preview_then_apply(operator_client, product):
    text = as_yaml(small_document())
    url = "/api/products/messaging/documents/"

    preview = operator_client.post(url, text, content_type="application/yaml")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["valid"] and len(body["added"]) == 4 and body["document"]["format"] == "yaml"
    assert not product.operations.exists()

    applied = operator_client.post(url + "?apply=1&enable_new=0", text, content_type="application/yaml")
    assert applied.status_code == 201 and applied.json()["version"] == 1
    assert product.operations.count() == 4 and not product.operations.filter(enabled=True).exists()
    assert operator_client.get("/api/products/messaging/").json()["document_version"] == 1


def test_document_with_errors_is_a_400_with_located_errors(operator_client, product):
    document = small_document()
    document["paths"]["/messages"]["get"]["responses"] = []
    response = operator_client.post(
        "/api/products/messaging/documents/?apply=1", as_json(document), content_type="application/json"
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("#invalid-openapi-document")
    assert {"pointer", "message", "line", "column"} <= set(problem["errors"][0])
    assert problem["errors"][0]["pointer"].startswith("/paths/~1messages/get")
    assert not product.operations.exists()


@pytest.mark.parametrize(
    "body,content_type,message",
    [
        (b"", "application/json", "empty"),
        (b"\xff\xfe not utf-8", "text/plain", "not UTF-8"),
        (b'{"openapi": ', "application/json", "Invalid JSON"),
    ],
)
def test_unreadable_bodies_are_located_errors_never_500(operator_client, product, body, content_type, message):
    response = operator_client.post("/api/products/messaging/documents/", body, content_type=content_type)
    assert response.status_code == 400 and message in response.json()["errors"][0]["message"]


def test_operator_prices_an_operation(operator_client, product):
    operator_client.post(
        "/api/products/messaging/documents/?apply=1", as_json(small_document()), content_type="application/json"
    )
    Meter.objects.create(code="messages.sent", name="Messages", unit_label="message")
    url = "/api/products/messaging/operations/messages_send/"

    response = operator_client.patch(
        url,
        {
            "meter": "messages.sent",
            "unit_rule": "request_json_array_length",
            "unit_source": "to",
            "max_units": 100,
            "required_scope": "messages:write",
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["unit_source"] == "/to" and response.json()["removed_at"] is None
    operation = product.operations.get(operation_id="messages_send")
    assert (operation.meter.code, operation.unit_rule, operation.required_scope) == (
        "messages.sent",
        UnitRule.REQUEST_JSON_ARRAY_LENGTH,
        "messages:write",
    )

    free = operator_client.patch(url, {"meter": None}, content_type="application/json")
    assert free.json()["unit_rule"] == "free" and free.json()["meter"] is None and free.json()["unit_source"] == ""


@pytest.mark.parametrize(
    "body,field",
    [
        ({"unit_rule": "fixed"}, "meter"),  # a priced rule without a meter
        ({"meter": "messages.sent", "unit_rule": "response_header", "unit_source": "not a header"}, "unit_source"),
        ({"meter": "messages.sent", "unit_rule": "response_json_field", "unit_source": "/a/~2"}, "unit_source"),
        ({"meter": "nope"}, "meter"),
        ({"max_units": 0}, "max_units"),
    ],
)
def test_invalid_price_rules_are_refused(operator_client, product, body, field):
    operator_client.post(
        "/api/products/messaging/documents/?apply=1", as_json(small_document()), content_type="application/json"
    )
    Meter.objects.get_or_create(code="messages.sent", defaults={"name": "Messages", "unit_label": "message"})
    response = operator_client.patch(
        "/api/products/messaging/operations/messages_send/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400 and field in response.json()["errors"], response.content


def test_unknown_product_or_operation_is_404(operator_client, product):
    assert operator_client.get("/api/products/nope/").status_code == 404
    response = operator_client.patch("/api/products/messaging/operations/nope/", {}, content_type="application/json")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_operation_ids_with_slashes_are_addressable(operator_client, product):
    document = small_document()
    document["paths"]["/messages"]["get"]["operationId"] = "messages/list"
    operator_client.post(
        "/api/products/messaging/documents/?apply=1", as_json(document), content_type="application/json"
    )
    response = operator_client.patch(
        "/api/products/messaging/operations/messages/list/", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["operation_id"] == "messages/list"


def test_operator_api_is_not_in_the_customer_schema(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert not [path for path in schema["paths"] if path.startswith("/api/products")]
    assert ApiProduct.objects.count() == 0


def _token(user, scopes: list[str]) -> dict[str, Any]:
    org = organization_make(f"org-of-{user.pk}")
    membership = Membership.objects.create(organization=org, user=user, role=Role.OWNER)
    _token, raw = personal_access_token_create(membership=membership, name="ci", scopes=scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_ci_pushes_a_document_with_a_products_write_token(operator, product):
    script = Client(enforce_csrf_checks=True)  # no session, no CSRF token
    response = script.post(
        "/api/products/messaging/documents/?apply=1",
        as_yaml(small_document()),
        content_type="application/yaml",
        **_token(operator, ["products:write"]),
    )
    assert response.status_code == 201, response.content
    assert product.operations.count() == 4


def test_a_token_without_products_write_is_refused_even_for_an_operator(operator, product):
    response = Client().get("/api/products/", **_token(operator, ["keys:read"]))
    assert response.status_code == 403 and response.json()["required_scope"] == "products:write"


def test_a_customer_token_is_refused(user, product):
    response = Client().get("/api/products/", **_token(user, ["keys:read", "keys:write"]))
    assert response.status_code == 403
