"""The OpenAPI document: valid 3.1, and every operation carries the shared contract
(security, error responses with problem+json, rate-limit headers, prices, code samples)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command

from plans.models import MeterPrice
from public.openapi import openapi_document
from public.schema import GATEWAY_SCHEMES

pytestmark = pytest.mark.django_db


def test_spectacular_validate_fail_on_warn_passes_for_the_real_urlconf(tmp_path, demo_plans):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    document = json.loads(out.read_text())
    assert document["openapi"] == "3.1.0"
    assert set(GATEWAY_SCHEMES) <= set(document["components"]["securitySchemes"])


@pytest.mark.urls("tests.public.urls")
def test_spectacular_validate_fail_on_warn_passes_with_operations(tmp_path, demo_plans):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert "/v1/sample/sms" in json.loads(out.read_text())["paths"]


@pytest.mark.urls("tests.public.urls")
def test_schema_endpoint_serves_openapi_31_json(client, demo_plans):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {**schemes["ApiKeyHeader"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerJWT"]["bearerFormat"] == "JWT"
    assert schemes["BearerKey"]["scheme"] == "bearer"


@pytest.mark.urls("tests.public.urls")
def test_every_v1_operation_documents_its_errors_with_problem_json(demo_plans):
    document = openapi_document()
    v1 = [
        (p, m, op)
        for p, item in document["paths"].items()
        if p.startswith("/v1/")
        for m, op in item.items()
        if {name for req in op.get("security", []) for name in req} >= set(GATEWAY_SCHEMES)
    ]
    assert {p for p, _m, _op in v1} >= {"/v1/sample/sms", "/v1/sample/deliveries/{tracking_id}"}
    for path, method, op in v1:
        responses = op["responses"]
        for code in ("401", "403", "429"):
            assert code in responses, (path, method, code)
            assert "$ref" in responses[code]["content"]["application/problem+json"]["schema"], (path, method, code)
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(responses["429"]["headers"])
        success = [c for c in responses if c.startswith("2")]
        assert success and all("RateLimit" in responses[c]["headers"] for c in success)
        assert op["security"], (path, method)


@pytest.mark.urls("tests.public.urls")
def test_input_and_path_errors_are_added_only_where_they_can_happen(demo_plans):
    document = openapi_document()
    send = document["paths"]["/v1/sample/sms"]["post"]["responses"]
    status = document["paths"]["/v1/sample/deliveries/{tracking_id}"]["get"]["responses"]
    assert "400" in send and "422" in send and "404" not in send
    assert "404" in status and "422" not in status
    example = send["400"]["content"]["application/problem+json"]["examples"]["validation-error"]["value"]
    assert example["type"].endswith("/docs/problems/#validation-error")


@pytest.mark.urls("tests.public.urls")
def test_x_price_comes_from_the_meter_prices_in_the_database(demo_plans):

    MeterPrice.objects.filter(plan__code="pro", meter__code="sms.sent", currency="NGN").update(
        unit_price=Decimal("4.5")
    )
    document = openapi_document()
    price = document["paths"]["/v1/sample/sms"]["post"]["x-price"]
    assert price["meter"] == "sms.sent" and price["unit"] == "SMS"
    assert price["plans"]["pro"]["currencies"]["NGN"] == {"unit_price": "4.50", "included_units": 1000, "tiers": []}
    assert price["plans"]["payg"]["currencies"]["USD"]["unit_price"] == "0.004"
    status = document["paths"]["/v1/sample/deliveries/{tracking_id}"]["get"]["x-price"]
    assert status["meter"] == "delivery.status_check"


@pytest.mark.urls("tests.public.urls")
def test_meter_resolver_is_pluggable(settings, demo_plans):
    settings.DOCS_OPERATION_METER_RESOLVER = "tests.public.test_schema.everything_is_ai"
    document = openapi_document()
    assert document["paths"]["/v1/sample/sms"]["post"]["x-price"]["meter"] == "ai.tokens"


def everything_is_ai(*, path, method, operation_id, view):
    return "ai.tokens"


@pytest.mark.urls("tests.public.urls")
def test_every_operation_has_code_samples_in_four_languages(demo_plans):
    document = openapi_document()
    for item in document["paths"].values():
        for op in item.values():
            langs = [s["lang"] for s in op["x-codeSamples"]]
            assert langs == ["curl", "javascript", "python", "php"]
            assert not any("tg_test_" in s["source"] or "tg_live_" in s["source"] for s in op["x-codeSamples"])
            if {name for req in op.get("security", []) for name in req} & set(GATEWAY_SCHEMES):
                assert all("TOLLGATE_API_KEY" in s["source"] for s in op["x-codeSamples"]), "key from the environment"


@pytest.mark.urls("tests.public.urls")
def test_schema_endpoint_serves_yaml_by_default_and_the_same_document_as_json(client, demo_plans):
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200 and "openapi" in as_yaml["Content-Type"]
    assert yaml.safe_load(as_yaml.content) == client.get("/api/schema/?format=json").json()
