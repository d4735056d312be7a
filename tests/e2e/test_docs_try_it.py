"""Browser tests of the docs: Swagger UI's "Try it" really calls the API with the signed-in
developer's test key, and the public pages render in real Chromium under the strict CSP."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from keys.models import ApiKey
from plans.services import plans_seed_demo

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, live_server, user, org):
    client = Client()
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": live_server.url,
            }
        ]
    )


# Redoc always renders its vendor's logo from a CDN; the CSP blocks it (no request leaves the
# browser) and site.css hides the empty <img>. Any other CSP violation fails the test.
_EXPECTED_CSP_BLOCKS = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def _collect_errors(page) -> list[str]:
    errors: list[str] = []

    def on_console(msg):
        csp = msg.type == "error" and "Content Security Policy" in msg.text
        if csp and not any(url in msg.text for url in _EXPECTED_CSP_BLOCKS):
            errors.append(msg.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", on_console)
    return errors


def test_try_it_calls_the_api_with_the_signed_in_developers_test_key(
    page, live_server, settings, user, org, artifacts_dir, demo_product
):
    """The demo product, imported from its document, answered by its real upstream through the
    gateway: Swagger UI's "Try it" with the developer's docs test key."""
    settings.SITE_URL = live_server.url  # the gateway the document's servers point at
    errors = _collect_errors(page)
    _sign_in(page, live_server, user, org)

    page.goto(f"{live_server.url}/docs/")
    page.wait_for_selector("body[data-docs-authorized='true']", timeout=15_000)
    assert "Try it is ready" in page.inner_text("#docs-key-banner")
    path = "/v1/demo/deliveries/{tracking_id}"
    block = page.locator(".opblock.opblock-get", has=page.locator(f"[data-path='{path}']"))
    block.wait_for(timeout=10_000)
    if not block.locator(".try-out__btn").is_visible():
        block.locator(".opblock-summary").first.click()
    block.locator(".try-out__btn").click()
    block.locator("input[placeholder='tracking_id']").fill("trk_" + "5f2c9a1e" * 3)
    with page.expect_response(re.compile(r"/v1/demo/deliveries/trk_")) as response_info:
        block.locator("button.execute").click()
    response = response_info.value
    assert response.status == 200, response.text()
    headers = response.all_headers()
    assert "ratelimit" in headers and "ratelimit-policy" in headers
    assert response.request.all_headers().get("x-api-key", "").startswith("tg_test_")
    live = block.locator(".live-responses-table tbody .response-col_status").first
    live.wait_for(timeout=10_000)
    assert live.inner_text().strip().startswith("200")
    assert "ratelimit" in block.locator(".live-responses-table").inner_text().lower()
    assert "x-csrftoken" not in {k.lower() for k in response.request.all_headers()}  # not sent to /v1/
    block.locator(".live-responses-table").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "docs-try-it.png"), full_page=False)
    assert not errors, errors

    key = ApiKey.objects.get(organization=org, name="Docs test key")
    assert key.mode == "test" and key.status == "active"


@pytest.mark.urls("tests.public.urls")
@pytest.mark.parametrize(
    "url,ready,shot",
    [
        ("/docs/", "body[data-docs-ready='true'] .opblock", "docs-swagger.png"),
        ("/docs/redoc/", "body[data-docs-ready='true'] [data-section-id]", "docs-redoc.png"),
        (
            "/docs/operations/sample_sms_send/",
            "[data-sample-tab='python'][aria-selected='true'], [data-sample-tab='curl'][aria-selected='true']",
            "docs-operation.png",
        ),
        ("/pricing/", "#plan-pro", "pricing.png"),
        ("/status/", ".uptime-bars", "status.png"),
    ],
)
def test_public_docs_pages_render_under_strict_csp(page, live_server, artifacts_dir, url, ready, shot):
    plans_seed_demo()
    errors = _collect_errors(page)
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.goto(live_server.url + url)
    page.wait_for_selector(ready, timeout=15_000)
    page.screenshot(path=str(artifacts_dir / shot), full_page=False)
    assert not errors, errors


@pytest.mark.urls("tests.public.urls")
def test_code_sample_tabs_switch_language(page, live_server):
    plans_seed_demo()
    page.goto(live_server.url + "/docs/operations/sample_sms_send/")
    page.click("[data-sample-tab='php']")
    assert page.is_visible("[data-sample-panel='php']")
    assert not page.is_visible("[data-sample-panel='curl']")
    assert "curl_init" in page.inner_text("[data-sample-panel='php']")
