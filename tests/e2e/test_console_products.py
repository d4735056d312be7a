"""The operator's API product pages in real Chromium: import a document, switch an operation
off and price another through htmx, under the strict CSP."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.models import User
from plans.models import Meter
from products.models import ApiProduct
from tests.products.documents import as_yaml, small_document


def test_operator_imports_a_document_and_prices_an_operation(
    page, live_server, artifacts_dir, transactional_db, tmp_path: Path
):
    operator = User.objects.create_user(email="operator@example.com", password=None, is_staff=True)
    client = Client()
    client.force_login(operator)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.session.session_key, "url": live_server.url}]
    )
    Meter.objects.create(code="messages.sent", name="Messages", unit_label="message")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/console/products/")
    page.fill("input[name=name]", "Messaging")
    page.fill("input[name=slug]", "messaging")
    page.fill("input[name=base_path]", "/v1/messaging")
    page.fill("input[name=upstream_url]", "https://upstream.example")
    page.click("text=Create product")
    expect(page.locator("h1")).to_have_text("Import an OpenAPI document")

    document = tmp_path / "openapi.yaml"
    document.write_text(as_yaml(small_document()))
    page.set_input_files("input[name=file]", str(document))
    page.click("text=Preview changes")
    expect(page.locator(".diff-summary")).to_contain_text("4 added")
    page.screenshot(path=str(artifacts_dir / "console-products-import.png"), full_page=True)
    page.click("button:has-text('Apply')")
    expect(page.locator(".flash-success")).to_contain_text("Imported version 1: 4 added")

    product = ApiProduct.objects.get(slug="messaging")
    listing = product.operations.get(operation_id="messages_list")
    page.locator(f"#op-{listing.pk} input[role=switch]").click()
    expect(page.locator(f"#op-{listing.pk}")).to_have_class("op op-off")

    send = product.operations.get(operation_id="messages_send")
    row = page.locator(f"#op-{send.pk}")
    row.locator("summary").click()
    row.locator("select[name=meter]").select_option("messages.sent")
    row.locator("select[name=unit_rule]").select_option("request_json_array_length")
    row.locator("input[name=unit_source]").fill("to")
    row.locator("button:has-text('Save')").click()
    expect(page.locator(f"#op-{send.pk} .op-rule")).to_contain_text("length of /to")
    page.screenshot(path=str(artifacts_dir / "console-products-detail.png"), full_page=True)

    listing.refresh_from_db()
    send.refresh_from_db()
    assert not listing.enabled and send.meter is not None and send.unit_source == "/to"
    assert not errors, errors
