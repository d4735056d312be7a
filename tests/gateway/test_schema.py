from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_gateway_openapi_has_operation_ids_serializers_and_security():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    paths = schema["paths"]
    sms = paths["/v1/sms"]["post"]
    assert sms["operationId"] == "sms_send"
    assert sms["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("SmsSendInputRequest")
    assert set(sms["responses"]) >= {"201", "400", "401", "403", "429"}
    # A credential is required (no anonymous `{}` option); the header and bearer forms are
    # alternatives. (The docs area may refine scheme names in its postprocessing hook.)
    assert {} not in sms["security"] and len(sms["security"]) >= 2
    assert {"ApiKeyHeader": []} in sms["security"]
    assert any(p["name"] == "Idempotency-Key" for p in sms["parameters"])
    assert paths["/v1/deliveries/{tracking_id}"]["get"]["operationId"] == "delivery_status_get"
    assert paths["/v1/ai/completions"]["post"]["operationId"] == "ai_completion_create"
    assert paths["/v1/auth/token"]["post"]["operationId"] == "auth_token_create"
    assert paths["/v1/keys/verify"]["post"]["security"] == [{"OperatorToken": []}]
    schemes = schema["components"]["securitySchemes"]
    assert {k: schemes["ApiKeyHeader"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert "/v1/_baseline/deliveries/{tracking_id}" not in paths
    assert paths["/api/keys/create/"]["post"]["operationId"] == "keys_create"
