"""/docs/postman.json is a valid Postman v2.1 collection generated from the schema."""

from __future__ import annotations

import jsonschema
import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.public.urls")]

# The parts of https://schema.getpostman.com/json/collection/v2.1.0/collection.json that a
# generated collection uses, with the same constraints (required keys, types, enums).
_VARIABLE = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "value": {},
        "type": {"enum": ["string", "boolean", "any", "number"]},
        "description": {"type": "string"},
        "disabled": {"type": "boolean"},
    },
    "anyOf": [{"required": ["id"]}, {"required": ["key"]}],
}
_AUTH = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "enum": [
                "apikey",
                "awsv4",
                "basic",
                "bearer",
                "digest",
                "edgegrid",
                "hawk",
                "noauth",
                "oauth1",
                "oauth2",
                "ntlm",
            ]
        },
        "bearer": {"type": "array", "items": {"type": "object", "required": ["key"]}},
        "apikey": {"type": "array", "items": {"type": "object", "required": ["key"]}},
    },
}
_URL = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "raw": {"type": "string"},
                "host": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "path": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "query": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "key": {"type": ["string", "null"]},
                            "value": {"type": ["string", "null"]},
                            "disabled": {"type": "boolean"},
                        },
                    },
                },
                "variable": {"type": "array", "items": _VARIABLE},
            },
        },
        {"type": "string"},
    ]
}
_REQUEST = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "url": _URL,
                "auth": _AUTH,
                "method": {"type": "string"},
                "description": {"type": ["string", "object", "null"]},
                "header": {
                    "oneOf": [
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "value"],
                                "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                            },
                        },
                        {"type": "string"},
                    ]
                },
                "body": {
                    "type": ["object", "null"],
                    "properties": {
                        "mode": {"enum": ["raw", "urlencoded", "formdata", "file", "graphql"]},
                        "raw": {"type": "string"},
                    },
                },
            },
        },
        {"type": "string"},
    ]
}
_ITEM = {
    "type": "object",
    "required": ["request"],
    "properties": {"name": {"type": "string"}, "request": _REQUEST, "response": {"type": "array"}},
}
_FOLDER = {
    "type": "object",
    "required": ["item"],
    "properties": {"name": {"type": "string"}, "item": {"type": "array", "items": {"$ref": "#/$defs/itemOrFolder"}}},
}
POSTMAN_V21 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["info", "item"],
    "$defs": {"itemOrFolder": {"anyOf": [_ITEM, _FOLDER]}},
    "properties": {
        "info": {
            "type": "object",
            "required": ["name", "schema"],
            "properties": {
                "name": {"type": "string"},
                "_postman_id": {"type": "string"},
                "schema": {"const": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
                "version": {"type": ["string", "object"]},
            },
        },
        "item": {"type": "array", "items": {"$ref": "#/$defs/itemOrFolder"}},
        "auth": {"oneOf": [{"type": "null"}, _AUTH]},
        "variable": {"type": "array", "items": _VARIABLE},
    },
}


def _requests(collection):
    for folder in collection["item"]:
        yield from (item["request"] for item in folder["item"])


def test_collection_validates_against_the_v21_schema(client, demo_plans):
    response = client.get("/docs/postman.json")
    assert response.status_code == 200
    collection = response.json()
    jsonschema.validate(collection, POSTMAN_V21)
    assert "sample" in [f["name"] for f in collection["item"]]


def test_every_schema_operation_becomes_a_request(client, demo_plans):
    collection = client.get("/docs/postman.json").json()
    requests = {(r["method"], r["url"]["raw"]) for r in _requests(collection)}
    assert ("POST", "{{baseUrl}}/v1/sample/sms") in requests
    assert ("GET", "{{baseUrl}}/v1/sample/deliveries/:tracking_id") in requests
    post = next(r for r in _requests(collection) if r["url"]["raw"] == "{{baseUrl}}/v1/sample/sms")
    assert post["body"]["mode"] == "raw" and '"to": "+2348012345678"' in post["body"]["raw"]


def test_key_is_a_collection_variable_empty_for_visitors(client, demo_plans):
    collection = client.get("/docs/postman.json").json()
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["apiKey"] == "" and variables["baseUrl"] == "http://testserver"
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
    }


def test_a_broken_collection_is_rejected_by_the_schema_check():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"info": {"name": "x", "schema": "v2.0"}, "item": []}, POSTMAN_V21)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "info": {"name": "x", "schema": POSTMAN_V21["properties"]["info"]["properties"]["schema"]["const"]},
                "item": [{"name": "no request"}],
            },
            POSTMAN_V21,
        )
