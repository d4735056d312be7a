"""Generated code samples are syntactically valid in their language and call the right URL."""

from __future__ import annotations

import ast
import shutil
import subprocess

import pytest

from public import samples
from public.examples import example_for
from public.oas import iter_operations
from public.openapi import openapi_document
from public.sample_request import operation_request
from tests.public.code_check import assert_valid_code

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.public.urls")]


def _samples(key=None):
    document = openapi_document()
    op = document["paths"]["/v1/sample/sms"]["post"]
    return {
        s["lang"]: s["source"]
        for s in samples.operation_samples(
            spec=document,
            path="/v1/sample/sms",
            method="post",
            operation=op,
            base_url="https://api.example.com",
            api_key=key,
        )
    }


def test_python_sample_is_valid_python_with_the_example_body(demo_plans):
    source = _samples()["python"]
    ast.parse(source)
    assert '"https://api.example.com/v1/sample/sms"' in source
    assert "'to': '+2348012345678'" in source


def test_curl_sample_is_valid_shell(demo_plans):
    source = _samples()["curl"]
    assert subprocess.run(["bash", "-n"], input=source, text=True).returncode == 0
    assert "$TOLLGATE_API_KEY" in source and "https://api.example.com/v1/sample/sms" in source


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_javascript_sample_is_valid_javascript(demo_plans, tmp_path):
    script = tmp_path / "sample.mjs"
    script.write_text(_samples()["javascript"])
    assert subprocess.run(["node", "--check", str(script)], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("php") is None, reason="php not installed")
def test_php_sample_is_valid_php(demo_plans, tmp_path):
    script = tmp_path / "sample.php"
    script.write_text(_samples()["php"])
    assert subprocess.run(["php", "-l", str(script)], capture_output=True).returncode == 0


def test_signed_in_samples_carry_the_given_key(demo_plans):
    generated = _samples(key="tg_test_abc123")
    assert all("tg_test_abc123" in source for source in generated.values())
    assert "TOLLGATE_API_KEY" not in generated["python"]


def test_path_parameters_are_filled_with_examples(demo_plans):
    document = openapi_document()
    op = document["paths"]["/v1/sample/deliveries/{tracking_id}"]["get"]
    request = operation_request(
        spec=document, path="/v1/sample/deliveries/{tracking_id}", method="get", operation=op, base_url=""
    )
    assert request["url"] == "/v1/sample/deliveries/trk_01JABCDEF"
    assert request["body"] is None and request["uses_key"]


def test_example_for_honours_declared_examples_enums_and_formats():
    spec = {"components": {"schemas": {"E": {"type": "string", "enum": ["a", "b"]}}}}
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "kind": {"$ref": "#/components/schemas/E"},
            "when": {"type": "string", "format": "date-time"},
            "note": {"type": ["string", "null"], "example": "hi"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
        },
    }
    assert example_for(schema, spec) == {
        "kind": "a",
        "when": "2026-01-15T09:30:00Z",
        "note": "hi",
        "tags": ["exa"],
    }


@pytest.mark.urls("portal.urls")
def test_samples_of_every_real_operation_are_valid_code(demo_plans, tmp_path):
    """Whatever operations the schema has: each sample parses in its language."""
    document = openapi_document()
    checked = 0
    for _path, _method, op in iter_operations(document):
        generated = {s["lang"]: s["source"] for s in op["x-codeSamples"]}
        assert_valid_code(generated, tmp_path)
        checked += 1
    assert checked >= 1


@pytest.mark.urls("portal.urls")
def test_operator_token_operations_read_their_own_token(demo_plans):
    document = openapi_document()
    ops = [
        op
        for item in document["paths"].values()
        for op in item.values()
        if any("OperatorToken" in req for req in op.get("security", []))
    ]
    if not ops:
        pytest.skip("no operator-token operation in this deployment")
    for op in ops:
        curl = next(s["source"] for s in op["x-codeSamples"] if s["lang"] == "curl")
        assert "$TOLLGATE_OPERATOR_TOKEN" in curl and "TOLLGATE_API_KEY" not in curl


def _operation(content_type, schema, **extra):
    return {
        "security": [{"ApiKeyHeader": []}],
        "parameters": [
            {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}},
            {"name": "Accept", "in": "header", "required": True, "schema": {"type": "string"}},
        ],
        "requestBody": {"content": {content_type: {"schema": schema, **extra}}},
        "responses": {"200": {"description": "ok"}},
    }


@pytest.mark.parametrize(
    "content_type,marks",
    [
        (
            "multipart/form-data",
            {
                "curl": "--form-string to=+2348012345678",
                "python": "files=",
                "javascript": 'form.append("to", "+2348012345678");',
                "php": "'to' => '+2348012345678'",
            },
        ),
        (
            "text/plain",
            {"curl": "--data-binary", "python": "content=", "javascript": "body: ", "php": "CURLOPT_POSTFIELDS"},
        ),
        (
            "application/x-www-form-urlencoded",
            {
                "curl": "--data-urlencode to=+2348012345678",
                "python": "data=",
                "javascript": "URLSearchParams",
                "php": "to=%2B2348012345678",
            },
        ),
    ],
)
def test_samples_send_each_kind_of_body_and_required_headers(tmp_path, content_type, marks):
    schema = {
        "type": "object",
        "properties": {
            "to": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string", "example": 'it\'s \\ "quoted"'},
        },
    }
    spec = {"paths": {}, "components": {}}
    generated = {
        s["lang"]: s["source"]
        for s in samples.operation_samples(
            spec=spec,
            path="/v1/things",
            method="post",
            operation=_operation(content_type, schema),
            base_url="https://api.example.com",
            api_key=None,
        )
    }
    assert_valid_code(generated, tmp_path)
    for lang, mark in marks.items():
        assert mark in generated[lang], (lang, generated[lang])
        assert "Idempotency-Key" in generated[lang], lang
        assert "example-Accept" not in generated[lang], "the samples set Accept themselves"
