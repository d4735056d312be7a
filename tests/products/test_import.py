"""Importing OpenAPI documents: the real-world fixtures, and located errors for broken ones."""

from __future__ import annotations

import json

import pytest

from products.document_import import DocumentInvalid, document_apply, document_diff
from products.documents import MAX_NODES
from products.models import ApiDocument, Operation, UnitRule
from products.reading import document_read
from products.services import product_create
from tests.products.documents import as_json, as_yaml, small_document


def test_twilio_messaging_imports_all_58_operations_with_form_bodies(product, twilio_text, operator):
    preview = document_diff(product=product, text=twilio_text)
    assert preview.ok and len(preview.added) == 58 and not preview.changed and not preview.removed

    document = document_apply(product=product, text=twilio_text, user=operator)

    assert (document.version, document.format, document.is_current, document.imported_by) == (1, "json", True, operator)
    assert document.parsed["info"]["title"] and len(document.sha256) == 64
    operations = {op.operation_id: op for op in product.operations.all()}
    assert len(operations) == 58
    send = next(op for op in operations.values() if op.method == "POST" and op.path_template == "/v1/Services")
    assert "application/x-www-form-urlencoded" in send.request_body["content"]
    alpha = operations["FetchAlphaSender"]
    assert alpha.path_template == "/v1/Services/{ServiceSid}/AlphaSenders/{Sid}"
    assert {p["name"] for p in alpha.parameters} == {"ServiceSid", "Sid"}
    assert alpha.tag == "MessagingV1AlphaSender"
    assert alpha.responses["200"]["description"] == "OK"
    # Imported operations start free, enabled, with their own id as scope.
    assert (alpha.unit_rule, alpha.meter, alpha.enabled, alpha.required_scope) == (
        UnitRule.FREE,
        None,
        True,
        "FetchAlphaSender",
    )


def test_paystack_yaml_imports_with_refs_resolved(db, paystack_text):
    product = product_create(name="Bets", slug="bets", base_path="/v1/bets", upstream_url="https://api.paystack.co")
    document = document_apply(product=product, text=paystack_text, user=None)

    assert document.format == "yaml"
    ids = set(product.operations.values_list("operation_id", flat=True))
    assert {"transaction_initialize", "transaction_verify", "transfer_bulk"} <= ids and len(ids) == 7
    verify = product.operations.get(operation_id="transaction_verify")
    assert verify.path_template == "/transaction/verify/{reference}" and verify.tag == "Transaction"
    assert all("$ref" not in json.dumps(p) for p in verify.parameters)  # parameters are inlined


def test_operation_parameters_merge_path_level_ones_and_resolve_refs(product):
    document_apply(product=product, text=as_json(small_document()), user=None)
    fetch = product.operations.get(operation_id="get_messages_id")
    assert fetch.parameters == [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    listing = product.operations.get(operation_id="messages_list")
    assert listing.parameters == [{"name": "limit", "in": "query", "schema": {"type": "integer"}}]
    # Referenced responses and request bodies are inlined; schemas keep their $ref (cycles too).
    assert listing.responses["200"]["description"] == "Messages"
    items = listing.responses["200"]["content"]["application/json"]["schema"]["items"]
    assert items == {"$ref": "#/components/schemas/Message"}
    send = product.operations.get(operation_id="messages_send")
    assert set(send.request_body["content"]) == {"application/json", "application/x-www-form-urlencoded"}


def test_openapi_31_yaml_is_accepted(product):
    document = small_document()
    document["openapi"] = "3.1.0"
    preview = document_diff(product=product, text=as_yaml(document))
    assert preview.ok and preview.info["openapi"] == "3.1.0" and preview.info["format"] == "yaml"


def _errors(product, text):
    preview = document_diff(product=product, text=text)
    assert not preview.ok
    return [error.as_dict() for error in preview.errors]


def test_json_syntax_error_has_line_and_column(product):
    errors = _errors(product, '{\n  "openapi": "3.0.3",\n  "info": {"title": "x",, }\n}')
    assert errors[0]["line"] == 3 and errors[0]["column"] > 1 and errors[0]["message"].startswith("Invalid JSON")


def test_yaml_syntax_error_has_line_and_column(product):
    errors = _errors(product, "openapi: 3.0.3\ninfo:\n  title: [unclosed\n  version: 1\npaths: {}\n")
    assert errors[0]["message"].startswith("Invalid YAML") and errors[0]["line"] >= 3


def test_schema_error_is_located_by_pointer_and_line(product):
    document = small_document()
    document["paths"]["/messages"]["get"]["responses"] = "not a mapping"
    errors = _errors(product, as_yaml(document))
    located = next(e for e in errors if e["pointer"].startswith("/paths/~1messages/get"))
    assert located["line"] > 1 and "line" in located


def test_undeclared_path_parameter_is_located_at_its_operation(product):
    document = small_document(**{"/users/{userId}": {"get": {"responses": {"200": {"description": "ok"}}}}})
    errors = _errors(product, as_json(document))
    assert errors[0]["pointer"] == "/paths/~1users~1{userId}/get"
    assert "userId" in errors[0]["message"] and errors[0]["line"] > 1


def test_unresolvable_and_external_refs_are_errors_not_fetches(product):
    document = small_document()
    document["paths"]["/messages"]["get"]["parameters"] = [{"$ref": "#/components/parameters/Nope"}]
    document["paths"]["/messages"]["post"]["requestBody"] = {"$ref": "https://169.254.169.254/latest/meta-data"}
    errors = _errors(product, as_json(document))
    pointers = {e["pointer"]: e["message"] for e in errors}
    assert "does not point at anything" in pointers["/paths/~1messages/get/parameters/0/$ref"]
    assert "Only references inside the document" in pointers["/paths/~1messages/post/requestBody/$ref"]


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("[1, 2]", "JSON object"),
        ('{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}}', "OpenAPI 3.0.x or 3.1.x"),
        ("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\nx-nan: .nan\n", "NaN"),
    ],
)
def test_documents_that_are_not_openapi_3_are_refused(product, text, message):
    assert message in _errors(product, text)[0]["message"]


def test_paths_that_cannot_be_routed_are_errors(product):
    document = small_document(
        **{
            "/messages/{messageId}": {
                "get": {
                    "parameters": [{"name": "messageId", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
        }
    )
    errors = _errors(product, as_json(document))
    assert errors[0]["pointer"] == "/paths/~1messages~1{messageId}" and "a request matches both" in errors[0]["message"]


def test_yaml_alias_bomb_stops_at_the_value_budget(product):
    lines = ["openapi: 3.0.3", "info: {title: x, version: '1'}", "paths: {}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    errors = _errors(product, "\n".join(lines) + "\n")
    assert f"more than {MAX_NODES:,} values" in errors[0]["message"]


def test_invalid_document_is_not_applied(product):
    with pytest.raises(DocumentInvalid) as raised:
        document_apply(product=product, text="openapi: 3.0.3\n", user=None)
    assert raised.value.extra["errors"][0]["message"]
    assert not ApiDocument.objects.exists() and not Operation.objects.exists()


def test_yaml_integer_status_codes_become_strings(product):
    text = (
        "openapi: 3.0.3\ninfo: {title: x, version: '1'}\n"
        "paths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n"
    )
    document_apply(product=product, text=text, user=None)
    assert product.operations.get().responses == {"200": {"description": "ok"}}


def test_trace_operations_are_skipped_with_a_warning(product):
    document = small_document(**{"/echo": {"trace": {"responses": {"200": {"description": "ok"}}}}})
    preview = document_diff(product=product, text=as_json(document))
    assert preview.ok and any("TRACE /echo" in warning for warning in preview.warnings)
    assert all(spec.path_template != "/echo" for spec in preview.added)


def test_the_same_text_is_read_once(product):
    text = as_json(small_document())
    assert document_read(text) is document_read(text)
