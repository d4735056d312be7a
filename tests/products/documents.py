"""OpenAPI documents written by the tests: small ones to edit, and a large generated one."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml


def small_document(**paths: Any) -> dict[str, Any]:
    """A valid 3.0 document with a few operations (``paths`` adds or replaces path items)."""
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Messages", "version": "1.0"},
        "servers": [{"url": "https://ignored.example"}],
        "paths": {
            "/messages": {
                "get": {
                    "operationId": "messages_list",
                    "summary": "List messages",
                    "tags": ["Messages"],
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "responses": {"200": {"$ref": "#/components/responses/MessageList"}},
                },
                "post": {
                    "operationId": "messages_send",
                    "summary": "Send a message",
                    "tags": ["Messages"],
                    "requestBody": {"$ref": "#/components/requestBodies/Send"},
                    "responses": {"201": {"description": "Sent"}},
                },
            },
            "/messages/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": {
                    "summary": "Fetch a message",
                    "tags": ["Messages"],
                    "responses": {"200": {"description": "The message"}},
                },
                "delete": {"operationId": "messages_delete", "responses": {"204": {"description": "Gone"}}},
            },
        },
        "components": {
            "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
            "requestBodies": {
                "Send": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Send"}},
                        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/Send"}},
                    }
                }
            },
            "responses": {
                "MessageList": {
                    "description": "Messages",
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}}
                        }
                    },
                }
            },
            "schemas": {
                "Send": {
                    "type": "object",
                    "properties": {"to": {"type": "array", "items": {"type": "string"}}, "body": {"type": "string"}},
                },
                "Message": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "replies": {"$ref": "#/components/schemas/Thread"}},
                },
                # A cycle through schemas: Thread → Message → Thread.
                "Thread": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            },
        },
    }
    document["paths"].update(paths)
    return document


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)


def as_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


def edited(document: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(document)


def large_document(*, operations: int = 600, schemas: int = 150, properties: int = 60) -> str:
    """``operations`` operations (a GET and a POST per path) over ``schemas`` component schemas
    of ``properties`` documented properties each — a few MB of JSON, like a large real API."""
    components: dict[str, Any] = {}
    for s in range(schemas):
        props: dict[str, Any] = {
            f"field_{p}": {
                "type": "string",
                "maxLength": 200,
                "description": f"Property {p} of resource {s}. " + "It carries a value the operator documents. " * 4,
                "example": f"value-{s}-{p}",
            }
            for p in range(properties)
        }
        props["child"] = {"$ref": f"#/components/schemas/Resource{(s + 1) % schemas}"}
        components[f"Resource{s}"] = {"type": "object", "required": ["field_0"], "properties": props}
    paths: dict[str, Any] = {}
    for i in range(operations // 2):
        schema = {"$ref": f"#/components/schemas/Resource{i % schemas}"}
        paths[f"/groups/{{groupId}}/resources{i}/{{resourceId}}"] = {
            "parameters": [
                {"name": "groupId", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "resourceId", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "get": {
                "operationId": f"resource{i}_get",
                "tags": [f"Group {i % 12}"],
                "summary": f"Fetch resource {i}",
                "parameters": [{"name": "expand", "in": "query", "schema": {"type": "boolean"}}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}},
            },
            "post": {
                "tags": [f"Group {i % 12}"],
                "summary": f"Update resource {i}",
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}},
            },
        }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Large", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
    return json.dumps(document)
