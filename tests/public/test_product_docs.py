"""The public OpenAPI document merges the imported API products: re-rooted under their base
path, served from the gateway, with Tollgate's security, problem types, RateLimit headers and
prices from the database — and only the products the viewer may see."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openapi_spec_validator import validate

from products.services import operation_update, product_update
from public import openapi
from public.openapi import openapi_document
from public.schema import GATEWAY_SCHEMES
from tests.factories import MembershipFactory, UserFactory
from tests.public.code_check import assert_valid_code

pytestmark = pytest.mark.django_db

BULK = "/v1/paystack/transfer/bulk"
TOLLFREE = "/v1/twilio/v1/Tollfree/Verifications"


def _refs(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _resolve(document, ref):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _product_operations(document, slug):
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("x-tollgate-product", {}).get("slug") == slug
    ]


def test_merged_document_validates_and_every_ref_resolves(imported_products):
    document = openapi_document()
    validate(document)  # openapi-spec-validator, OpenAPI 3.1
    for ref in _refs(document, set()):
        assert ref.startswith("#/components/"), ref
        _resolve(document, ref)  # KeyError when a rewritten reference points at nothing
    # Each product's own components are there, under its prefix; its security schemes are not.
    schemas = document["components"]["schemas"]
    assert "paystack.TransferBulk" in schemas and "TransferBulk" not in schemas
    assert "bearerAuth" not in document["components"]["securitySchemes"]
    assert "accountSid_authToken" not in document["components"]["securitySchemes"]


def test_product_paths_live_under_the_base_path_and_the_gateway_is_the_only_server(imported_products):
    document = openapi_document()
    assert document["servers"] == [{"url": settings.SITE_URL, "description": "The API gateway"}]
    paystack = _product_operations(document, "paystack")
    twilio = _product_operations(document, "twilio")
    assert len(paystack) == imported_products["paystack"].operations.count()
    assert len(twilio) == imported_products["twilio"].operations.count() == 58
    assert all(path.startswith("/v1/paystack/") for path, _m, _op in paystack)
    assert all(path.startswith("/v1/twilio/v1/") for path, _m, _op in twilio)
    for path, item in document["paths"].items():
        assert "servers" not in item, path
        assert all("servers" not in op for op in item.values() if isinstance(op, dict)), path


def test_operation_ids_are_prefixed_with_the_product_and_unique(imported_products):
    document = openapi_document()
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert len(ids) == len(set(ids))
    assert document["paths"][BULK]["post"]["operationId"] == "paystack.transfer_bulk"
    assert document["paths"][TOLLFREE]["post"]["operationId"] == "twilio.CreateTollfreeVerification"
    # Generated ids (the document gives none) are the importer's, stable across builds.
    generated = imported_products["twilio"].operations.exclude(
        operation_id__in=[op_id.removeprefix("twilio.") for op_id in ids]
    )
    assert not generated.exists()


def test_tags_are_the_documents_grouped_by_product(imported_products):
    document = openapi_document()
    op = document["paths"][BULK]["post"]
    assert op["tags"] == ["Paystack Betting · Transfer"]
    groups = {group["name"]: group["tags"] for group in document["x-tagGroups"]}
    assert "Paystack Betting · Transfer" in groups["Paystack Betting"]
    assert all(tag.startswith("Twilio Messaging · ") for tag in groups["Twilio Messaging"])
    used = {
        tag
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for tag in op.get("tags", [])
    }
    assert used <= {tag for tags in groups.values() for tag in tags}, "Redoc hides a tag outside every group"


def test_product_operations_carry_the_gateways_contract(imported_products):
    document = openapi_document()
    for path, _method, op in _product_operations(document, "paystack") + _product_operations(document, "twilio"):
        assert op["security"] == [{name: []} for name in GATEWAY_SCHEMES], path
        responses = op["responses"]
        for code in ("401", "413", "429", "502", "504"):
            assert responses[code]["$ref"].startswith("#/components/responses/Gateway"), (path, code)
        assert "403" in responses and "404" in responses
        for code, response in responses.items():
            if code.startswith("2"):
                assert {"RateLimit", "RateLimit-Policy", "X-Request-Id"} <= set(response["headers"]), (path, code)
    errors = document["components"]["responses"]
    problems = errors["GatewayRateLimited"]["content"]["application/problem+json"]
    assert problems["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {"rate-limited", "quota-exceeded"} <= set(problems["examples"])
    assert {"Retry-After", "RateLimit"} <= set(errors["GatewayRateLimited"]["headers"])
    assert "payload-too-large" in errors["GatewayPayloadTooLarge"]["content"]["application/problem+json"]["examples"]
    assert "gateway-timeout" in errors["GatewayTimeout"]["content"]["application/problem+json"]["examples"]


def test_x_price_comes_from_the_database_per_plan_and_currency(imported_products):
    document = openapi_document()
    price = document["paths"][BULK]["post"]["x-price"]
    assert price["meter"] == "transfers.sent" and price["unit"] == "transfer"
    assert price["units"] == "1 transfer per item of `transfers` in the request"
    assert price["plans"]["pro"]["currencies"]["NGN"]["text"] == "₦25 per transfer"
    assert price["plans"]["pro"]["currencies"]["NGN"]["included_units"] == 100
    assert price["plans"]["pro"]["currencies"]["USD"]["text"] == "$0.02 per transfer"
    assert price["plans"]["payg"]["currencies"]["NGN"]["text"] == "₦30 per transfer"
    assert price["summary"] == "₦30 per transfer (1 transfer per item of `transfers` in the request)"
    assert "**Price** — meter `transfers.sent`" in document["paths"][BULK]["post"]["description"]
    free = document["paths"]["/v1/paystack/transaction/initialize"]["post"]["x-price"]
    assert free == {"free": True, "summary": "Free: calls to this operation are not billed."}


def test_a_product_limited_to_plans_is_priced_on_those_plans_only(imported_products, demo_plans):
    product_update(product=imported_products["paystack"], plans=[p for p in demo_plans if p.code == "pro"])
    price = openapi_document()["paths"][BULK]["post"]["x-price"]
    assert set(price["plans"]) == {"pro"}


def test_disabled_operations_are_left_out_with_the_components_only_they_use(imported_products):
    paystack = imported_products["paystack"]
    operation_update(operation=paystack.operations.get(operation_id="transfer_bulk"), enabled=False)
    document = openapi_document()
    assert BULK not in document["paths"]
    assert "paystack.TransferBulk" not in document["components"]["schemas"]
    validate(document)


def test_private_product_is_documented_only_for_its_organization(client, private_product, other_org, org, user):
    def seen(client) -> dict[str, bool]:
        schema = client.get("/api/schema/?format=json").json()
        postman = json.dumps(client.get("/docs/postman.json").json())
        return {
            "schema": "/v1/secret/messages" in schema["paths"],
            "operations": "secret.messages_send" in client.get("/docs/operations/").content.decode(),
            "operation": client.get("/docs/operations/secret.messages_send/").status_code == 200,
            "pricing": "Secret Messaging" in client.get("/pricing/").content.decode(),
            "postman": "/v1/secret/messages" in postman,
        }

    nowhere = dict.fromkeys(("schema", "operations", "operation", "pricing", "postman"), False)
    assert seen(client) == nowhere  # a visitor
    client.force_login(user)  # a member of another organization
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    assert seen(client) == nowhere
    insider = UserFactory()
    MembershipFactory(user=insider, organization=other_org)
    client.force_login(insider)
    session = client.session
    session["active_org_id"] = other_org.pk
    session.save()
    assert seen(client) == dict.fromkeys(nowhere, True)


def test_samples_of_a_json_body_and_a_form_body_are_valid_code(imported_products, tmp_path):
    document = openapi_document()
    bulk = {s["lang"]: s["source"] for s in document["paths"][BULK]["post"]["x-codeSamples"]}
    assert_valid_code(bulk, tmp_path)
    assert '-H "Content-Type: application/json"' in bulk["curl"] and '"transfers": [' in bulk["curl"]
    assert "json={" in bulk["python"] and "JSON.stringify(" in bulk["javascript"]
    tollfree = {s["lang"]: s["source"] for s in document["paths"][TOLLFREE]["post"]["x-codeSamples"]}
    assert_valid_code(tollfree, tmp_path)
    assert "--data-urlencode 'BusinessName=Owl, Inc.'" in tollfree["curl"]
    for image in ("image1.jpg", "image2.jpg"):  # one field per item of a list
        assert f"--data-urlencode OptInImageUrls=https://testbusiness.com/images/{image}" in tollfree["curl"]
    assert "data={" in tollfree["python"] and "new URLSearchParams(" in tollfree["javascript"]
    assert "&BusinessName=Owl%2C+Inc.&" in tollfree["php"] and "CURLOPT_POSTFIELDS => 'OptInType=" in tollfree["php"]
    for sources in (bulk, tollfree):
        assert all(settings.SITE_URL + "/v1/" in source for source in sources.values())
        assert all("TOLLGATE_API_KEY" in source for source in sources.values())


def test_operation_page_of_a_product_operation_shows_its_price_and_samples(client, imported_products):
    html = client.get("/docs/operations/paystack.transfer_bulk/").content.decode()
    assert "Paystack Betting / Transfer" in html
    assert "1 transfer per item of <code>transfers</code> in the request" in html
    assert "₦25" in html and "Pro" in html
    assert "http://testserver/v1/paystack/transfer/bulk" in html
    assert "application/json</p><pre><code>{\n  &quot;source&quot;" in html, "examples are shown as JSON"
    free = client.get("/docs/operations/paystack.transaction_initialize/").content.decode()
    assert "Free — calls to this operation are not billed" in free


def test_operations_index_has_a_section_per_product_then_the_platform_api(client, imported_products):
    html = client.get("/docs/operations/").content.decode()
    positions = [html.index(anchor) for anchor in ('id="product-paystack"', 'id="product-twilio"', 'id="platform-api"')]
    assert positions == sorted(positions)
    paystack = html[positions[0] : positions[1]]
    assert (
        '<h3 class="op-group-title">Transfer</h3>' in paystack
        and "/docs/operations/paystack.transfer_bulk/" in paystack
    )


def test_postman_collection_groups_operations_by_product(client, imported_products):
    collection = client.get("/docs/postman.json").json()
    folders = {folder["name"]: folder for folder in collection["item"]}
    paystack = {folder["name"]: folder for folder in folders["Paystack Betting"]["item"]}
    bulk = next(item for item in paystack["Transfer"]["item"] if item["name"] == "Initiate Bulk Transfer")
    assert bulk["request"]["url"]["raw"] == "{{baseUrl}}/v1/paystack/transfer/bulk"
    assert bulk["request"]["body"]["mode"] == "raw"
    twilio = [request for folder in folders["Twilio Messaging"]["item"] for request in folder["item"]]
    tollfree = next(r for r in twilio if r["request"]["url"]["raw"].endswith("/Tollfree/Verifications"))
    assert tollfree["request"]["body"]["mode"] == "urlencoded"
    assert any(field["key"] == "BusinessName" for field in tollfree["request"]["body"]["urlencoded"])


def test_pricing_page_lists_the_priced_operations_of_each_visible_product(client, imported_products):
    html = client.get("/pricing/").content.decode()
    section = html.split('id="api-prices"')[1].split("</section>")[0]
    assert "Paystack Betting" in section and "Initiate Bulk Transfer" in section
    assert "/v1/paystack/transfer/bulk" in section and "Transfers" in section
    assert "1 transfer per item of <code>transfers</code> in the request" in section
    assert "₦25 per transfer" in section and "first 100 included" in section and "₦30 per transfer" in section
    assert "are free" in section  # the other operations
    assert "Twilio Messaging" in section and "All 58 operations are free." in section
    usd = client.get("/pricing/?currency=USD").content.decode().split('id="api-prices"')[1]
    assert "$0.02 per transfer" in usd


def test_the_merged_document_is_built_once_per_catalogue_version(
    imported_products, monkeypatch, django_capture_on_commit_callbacks
):
    builds = []
    real = openapi.document_merge
    monkeypatch.setattr(openapi, "document_merge", lambda *a, **kw: builds.append(1) or real(*a, **kw))
    openapi._memo.clear()
    openapi_document()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            openapi_document()
    assert len(builds) == 1
    assert len(queries) == 5, "one query per request: the visible product ids"
    with django_capture_on_commit_callbacks(execute=True):  # the change is announced after commit
        operation_update(
            operation=imported_products["paystack"].operations.get(operation_id="transfer_bulk"), units_fixed=2
        )
    openapi_document()  # the catalogue version moved: rebuilt
    assert len(builds) == 2


def test_schema_endpoint_serves_the_cached_rendering(client, imported_products):
    first = client.get("/api/schema/?format=json")
    second = client.get("/api/schema/?format=json")
    assert first.content == second.content
    assert first["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert BULK in first.json()["paths"]
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
