"""An operator's API, from import to "Try it", in real Chromium: the operator imports an OpenAPI
document on the console and prices one operation; a customer finds the price on /pricing/,
reads the operation in the docs, and Swagger UI's "Try it" calls a real upstream HTTP server
through the gateway (SITE_URL) with the customer's docs test key."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Page, expect

from plans.services import plans_seed_demo
from products.models import ApiProduct
from tests.factories import UserFactory
from tests.products.documents import as_yaml, small_document

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Upstream:
    """A real HTTP server standing in for the operator's API; it records what reaches it."""

    url: str
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
            payload = json.dumps({"id": "msg_1", "status": "queued", "upstream": True}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Upstream(url=f"http://127.0.0.1:{server.server_port}/api", requests=received)
    server.shutdown()
    server.server_close()


def _session_cookie(page: Page, live_server, user, org=None) -> None:
    client = Client()
    client.force_login(user)
    session = client.session
    if org is not None:
        session["active_org_id"] = org.pk
    session.save()
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security" in m.text else None)
    return errors


def test_operator_imports_and_prices_a_customer_reads_and_tries_it(
    page, browser, live_server, settings, artifacts_dir, user, org, upstream, tmp_path: Path
):
    settings.SITE_URL = live_server.url  # the gateway the docs point at is this server
    plans_seed_demo()

    # The operator: create the product, import its document, price one operation.
    _session_cookie(page, live_server, UserFactory(is_staff=True))
    page.goto(f"{live_server.url}/console/products/")
    page.fill("input[name=name]", "Messaging")
    page.fill("input[name=slug]", "messaging")
    page.fill("input[name=base_path]", "/v1/messaging")
    page.fill("input[name=upstream_url]", upstream.url)
    page.click("text=Create product")
    expect(page.locator("h1")).to_have_text("Import an OpenAPI document")
    document = tmp_path / "openapi.yaml"
    document.write_text(as_yaml(small_document()))
    page.set_input_files("input[name=file]", str(document))
    page.click("text=Preview changes")
    page.click("button:has-text('Apply')")
    expect(page.locator(".flash-success")).to_contain_text("Imported version 1")
    send = ApiProduct.objects.get(slug="messaging").operations.get(operation_id="messages_send")
    row = page.locator(f"#op-{send.pk}")
    row.locator("summary").click()
    row.locator("select[name=meter]").select_option("sms.sent")
    row.locator("select[name=unit_rule]").select_option("request_json_array_length")
    row.locator("input[name=unit_source]").fill("to")
    row.locator("button:has-text('Save')").click()
    expect(page.locator(f"#op-{send.pk} .op-rule")).to_contain_text("length of /to")

    # The customer, in a browser of their own.
    customer = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = _errors(customer)
    _session_cookie(customer, live_server, user, org)

    customer.goto(f"{live_server.url}/pricing/")
    prices = customer.locator("article[data-product='messaging']")
    expect(prices).to_contain_text("Send a message")
    expect(prices).to_contain_text("1 SMS per item of to in the request")
    expect(prices).to_contain_text("₦5 per SMS")
    prices.scroll_into_view_if_needed()
    customer.screenshot(path=str(artifacts_dir / "product-pricing.png"), full_page=False)

    customer.goto(f"{live_server.url}/docs/operations/messaging.messages_send/")
    expect(customer.locator("h1")).to_contain_text("/v1/messaging/messages")
    expect(customer.locator("[data-testid=operation-price]")).to_contain_text("1 SMS per item of to in the request")
    expect(customer.locator("[data-sample-panel='curl']")).to_contain_text(f"{live_server.url}/v1/messaging/messages")
    customer.screenshot(path=str(artifacts_dir / "product-docs-operation.png"), full_page=False)

    customer.goto(f"{live_server.url}/docs/")
    customer.wait_for_selector("body[data-docs-authorized='true']", timeout=15_000)
    block = customer.locator(".opblock.opblock-post", has=customer.locator("[data-path='/v1/messaging/messages']"))
    block.wait_for(timeout=10_000)
    expect(customer.locator(".opblock-tag-section").first).to_contain_text("Messaging · Messages")
    customer.screenshot(path=str(artifacts_dir / "product-docs-swagger.png"), full_page=False)
    block.locator(".opblock-summary").first.click()
    block.locator(".try-out__btn").click()
    with customer.expect_response(re.compile(r"/v1/messaging/messages$")) as response_info:
        block.locator("button.execute").click()
    response = response_info.value
    block.locator(".live-responses-table").scroll_into_view_if_needed()
    customer.screenshot(path=str(artifacts_dir / "product-docs-try-it.png"), full_page=False)
    assert not errors, errors
    assert response.status == 201, response.text()
    assert response.json() == {"id": "msg_1", "status": "queued", "upstream": True}
    assert "ratelimit" in response.all_headers()
    key = response.request.all_headers().get("x-api-key", "")
    assert key.startswith("tg_test_")
    (reached,) = upstream.requests
    assert reached["path"] == "/api/messages"
    assert key not in json.dumps(reached["headers"]), "the customer's key never reaches the upstream"
    assert json.loads(reached["body"])["to"], "the example body Swagger UI sent"
