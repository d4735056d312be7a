"""The gateway's own OpenAPI (drf-spectacular): the token exchange and the verify API. The API
products' operations are not in it — they are described by their imported documents
(public/product_docs), and the catch-all ``/v1/…`` route adds nothing here."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_gateway_openapi_has_operation_ids_serializers_and_security():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    paths = schema["paths"]
    assert sorted(path for path in paths if path.startswith("/v1/")) == ["/v1/auth/token", "/v1/keys/verify"]
    assert not any("demo" in path or "proxy" in path or "_baseline" in path for path in paths)

    token = paths["/v1/auth/token"]["post"]
    assert token["operationId"] == "auth_token_create"
    # A credential is required (no anonymous `{}` option); the header and bearer forms are alternatives.
    assert {} not in token["security"] and len(token["security"]) >= 2
    assert {"ApiKeyHeader": []} in token["security"]
    assert token["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TokenOutput")

    verify = paths["/v1/keys/verify"]["post"]
    assert verify["operationId"] == "keys_verify"
    assert {"OperatorToken": []} in verify["security"] and {} not in verify["security"]
    assert set(verify["responses"]) >= {"200", "400", "401"}
    request_ref = verify["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert set(request["required"]) == {"key", "product", "operation_id"}
    assert {"units", "charge"} <= set(request["properties"])
    output = schema["components"]["schemas"]["VerifyOutput"]
    assert {"valid", "code", "mode", "scopes", "plan", "meter", "units", "retry_after"} <= set(output["properties"])

    schemes = schema["components"]["securitySchemes"]
    assert {k: schemes["ApiKeyHeader"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["OperatorToken"]["type"] == "http" and schemes["OperatorToken"]["scheme"] == "bearer"
    assert paths["/api/keys/create/"]["post"]["operationId"] == "keys_create"
