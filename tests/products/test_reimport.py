"""Re-importing a document: the diff, and what applying it keeps, changes and disables."""

from __future__ import annotations

import pytest

from plans.models import Meter
from products.document_import import document_apply, document_diff
from products.models import Operation, UnitRule
from products.operation_ids import generated_operation_id
from products.services import operation_update
from tests.products.documents import as_json, edited, small_document


@pytest.fixture
def meter(db):
    return Meter.objects.create(code="messages.sent", name="Messages sent", unit_label="message")


@pytest.fixture
def imported(product, meter):
    document = small_document()
    document_apply(product=product, text=as_json(document), user=None)
    operation_update(
        operation=product.operations.get(operation_id="messages_send"),
        meter=meter,
        unit_rule=UnitRule.REQUEST_JSON_ARRAY_LENGTH,
        unit_source="/to",
        required_scope="messages:write",
    )
    operation_update(operation=product.operations.get(operation_id="messages_list"), meter=meter, units_fixed=2)
    operation_update(operation=product.operations.get(operation_id="messages_delete"), enabled=False)
    return document


def test_reimport_diff_lists_added_removed_and_changed(product, imported):
    document = edited(imported)
    document["paths"]["/messages"]["post"]["summary"] = "Send messages"  # changed: summary
    document["paths"]["/messages"]["get"]["parameters"].append(
        {"name": "after", "in": "query", "schema": {"type": "string"}}
    )  # changed: parameters
    del document["paths"]["/messages/{id}"]["delete"]  # removed
    document["paths"]["/status"] = {"get": {"operationId": "status_get", "responses": {"200": {"description": "ok"}}}}
    document["components"]["schemas"]["Message"]["properties"]["sent_at"] = {"type": "string"}  # via $ref only

    preview = document_diff(product=product, text=as_json(document))

    assert [spec.operation_id for spec in preview.added] == ["status_get"]
    assert [op.operation_id for op in preview.removed] == ["messages_delete"]
    changes = {change.spec.operation_id: change.changes for change in preview.changed}
    assert changes == {"messages_send": ("summary",), "messages_list": ("parameters", "referenced schemas")}
    assert preview.unchanged == 1  # get_messages_id
    assert Operation.objects.filter(product=product).count() == 4  # a preview writes nothing


def test_schema_change_behind_a_ref_marks_the_operation_changed(product, imported):
    document = edited(imported)
    document["components"]["schemas"]["Send"]["properties"]["priority"] = {"type": "integer"}
    preview = document_diff(product=product, text=as_json(document))
    assert [(c.spec.operation_id, c.changes) for c in preview.changed] == [("messages_send", ("referenced schemas",))]


def test_apply_keeps_pricing_of_unchanged_and_changed_operations_and_disables_removed(product, imported, meter):
    document = edited(imported)
    document["paths"]["/messages"]["post"]["summary"] = "Send messages"
    del document["paths"]["/messages/{id}"]["delete"]
    document["paths"]["/status"] = {"get": {"operationId": "status_get", "responses": {"200": {"description": "ok"}}}}

    new = document_apply(product=product, text=as_json(document), user=None)

    assert new.version == 2 and new.is_current
    assert list(product.documents.values_list("version", "is_current")) == [(2, True), (1, False)]
    ops = {op.operation_id: op for op in product.operations.all()}
    send = ops["messages_send"]
    assert send.summary == "Send messages"
    assert (send.meter, send.unit_rule, send.unit_source, send.required_scope) == (
        meter,
        UnitRule.REQUEST_JSON_ARRAY_LENGTH,
        "/to",
        "messages:write",
    )
    assert (ops["messages_list"].meter, ops["messages_list"].units_fixed) == (meter, 2)
    removed = ops["messages_delete"]
    assert removed.removed_at is not None and not removed.enabled  # kept for usage history, never deleted
    assert ops["status_get"].unit_rule == UnitRule.FREE and ops["status_get"].enabled


def test_a_removed_operation_that_returns_keeps_its_pricing(product, imported, meter):
    without = edited(imported)
    del without["paths"]["/messages"]["post"]
    document_apply(product=product, text=as_json(without), user=None)
    assert product.operations.get(operation_id="messages_send").removed_at is not None

    preview = document_diff(product=product, text=as_json(imported))
    assert [s.operation_id for s in preview.added] == ["messages_send"] and preview.restored == {"messages_send"}
    document_apply(product=product, text=as_json(imported), user=None, enable_new=False)

    send = product.operations.get(operation_id="messages_send")
    assert send.removed_at is None and not send.enabled and send.meter == meter


def test_new_operations_can_be_imported_switched_off(product, imported):
    document = edited(imported)
    document["paths"]["/status"] = {"get": {"operationId": "status_get", "responses": {"200": {"description": "ok"}}}}
    document_apply(product=product, text=as_json(document), user=None, enable_new=False)
    assert not product.operations.get(operation_id="status_get").enabled
    assert product.operations.get(operation_id="messages_list").enabled  # existing ones keep their switch


def test_two_operations_may_swap_routes_in_one_import(product, imported):
    document = edited(imported)
    paths = document["paths"]
    paths["/messages"]["get"]["operationId"], paths["/messages"]["post"]["operationId"] = "x_tmp", "x_tmp2"
    document_apply(product=product, text=as_json(document), user=None)  # free both routes' old ids
    swapped = edited(document)
    swapped["paths"]["/messages"]["get"]["operationId"] = "x_tmp2"
    swapped["paths"]["/messages"]["post"]["operationId"] = "x_tmp"

    document_apply(product=product, text=as_json(swapped), user=None)

    live = dict(product.operations.filter(removed_at__isnull=True).values_list("operation_id", "method"))
    assert live["x_tmp"] == "POST" and live["x_tmp2"] == "GET"


def test_reimporting_the_current_document_changes_nothing(product, imported):
    first = product.documents.get()
    again = document_apply(product=product, text=as_json(imported), user=None)
    assert again.pk == first.pk and product.documents.count() == 1


def test_generated_ids_follow_the_route():
    assert generated_operation_id("GET", "/2010-04-01/Accounts/{AccountSid}/Messages.json") == (
        "get_accounts_account_sid_messages"
    )
    assert generated_operation_id("POST", "/v1/Services/{ServiceSid}/AlphaSenders") == (
        "post_v1_services_service_sid_alpha_senders"
    )


def test_generated_ids_are_stable_when_a_colliding_path_is_added(product):
    first = small_document(
        **{
            "/messages/{id}.json": {
                "get": {
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    )
    del first["paths"]["/messages/{id}"]
    document_apply(product=product, text=as_json(first), user=None)
    assert product.operations.filter(operation_id="get_messages_id", path_template="/messages/{id}.json").exists()

    # /messages/{id} sorts first and would now generate get_messages_id: the existing route keeps it.
    second = edited(first)
    second["paths"]["/messages/{id}"] = small_document()["paths"]["/messages/{id}"]
    preview = document_diff(product=product, text=as_json(second))
    assert not preview.changed and not preview.removed
    added = {(spec.method, spec.path_template): spec.operation_id for spec in preview.added}
    assert added[("DELETE", "/messages/{id}")] == "messages_delete"
    assert added[("GET", "/messages/{id}")].startswith("get_messages_id_")
    assert len(added[("GET", "/messages/{id}")]) == len("get_messages_id_") + 8
