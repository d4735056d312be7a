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
    assert {"ApiKeyBearer": []} in sms["security"] and {"ApiKeyHeader": []} in sms["security"]
    assert any(p["name"] == "Idempotency-Key" for p in sms["parameters"])
    assert paths["/v1/deliveries/{tracking_id}"]["get"]["operationId"] == "delivery_status_get"
    assert paths["/v1/ai/completions"]["post"]["operationId"] == "ai_completion_create"
    assert paths["/v1/auth/token"]["post"]["operationId"] == "auth_token_create"
    assert paths["/v1/keys/verify"]["post"]["security"] == [{"OperatorToken": []}]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                       "description": "`X-API-Key: <API key>`"}
    assert "/v1/_baseline/deliveries/{tracking_id}" not in paths
    assert paths["/api/keys/create/"]["post"]["operationId"] == "keys_create"
