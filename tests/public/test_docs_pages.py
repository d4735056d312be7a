"""The docs pages render for visitors, with strict CSP and locally served assets."""

from __future__ import annotations

import re

import pytest

from portal.problems import Problem
from public.openapi import openapi_document
from public.views.docs import inline_markdown

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.public.urls")]

PAGES = [
    "/docs/",
    "/docs/redoc/",
    "/docs/operations/",
    "/docs/operations/sample_sms_send/",
    "/docs/getting-started/",
    "/docs/authentication/",
    "/docs/problems/",
    "/pricing/",
    "/status/",
]


@pytest.mark.parametrize("url", PAGES)
def test_page_renders_with_strict_csp_and_no_cdn(client, demo_plans, url):
    response = client.get(url)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    html = response.content.decode()
    for tag in re.findall(r"<script(?![^>]*type=\"application/json\")[^>]*>", html):
        assert 'src="/static/' in tag or "nonce=" in tag, tag
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_swagger_page_loads_local_swagger_ui_and_the_schema(client, demo_plans):
    html = client.get("/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/js/docs-swagger.js" in html
    assert '"schemaUrl": "/api/schema/?format=json"' in html
    assert '"apiKey": null' in html
    assert "Create a free account" in html  # visitors are told how to get a key


def test_redoc_page_loads_local_redoc(client, demo_plans):
    html = client.get("/docs/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html


def test_operation_page_has_tabs_for_four_languages_and_the_price(client, demo_plans):
    html = client.get("/docs/operations/sample_sms_send/").content.decode()
    for label in ("Shell", "JavaScript", "Python", "PHP"):
        assert 'aria-controls="sample-' in html and f">{label}</button>" in html
    assert "http://testserver/v1/sample/sms" in html
    assert "₦5" in html and "sms.sent" in html


def test_unknown_operation_is_404(client, demo_plans):
    assert client.get("/docs/operations/nope/").status_code == 404


def test_operations_index_lists_every_operation(client, demo_plans):
    html = client.get("/docs/operations/").content.decode()
    assert "/docs/operations/sample_sms_send/" in html and "/docs/operations/sample_delivery_status/" in html


def test_problems_page_has_an_anchor_for_every_problem_slug(client, demo_plans):
    class PaymentRequired(Problem):
        """Your plan needs a payment method before this call."""

        status, slug, title = 402, "payment-required-test", "Payment required"

    html = client.get("/docs/problems/").content.decode()
    for slug in (
        "validation-error",
        "unauthenticated",
        "not-found",
        "rate-limited",
        "quota-exceeded",
        "conflict",
        "payment-required-test",
    ):
        assert f'id="{slug}"' in html
    assert "Your plan needs a payment method before this call." in html


def test_getting_started_walks_through_the_five_steps(client, demo_plans):
    html = client.get("/docs/getting-started/").content.decode()
    for anchor in ("get-a-key", "first-call", "rate-limit-headers", "handle-429", "webhooks", "upgrade"):
        assert f'id="{anchor}"' in html
    first_call = html.split('id="first-call"')[1].split("</li>")[0]
    assert 'href="/docs/operations/' in first_call and "curl -i -X GET" in first_call  # a real operation


def test_operation_descriptions_render_inline_markdown_safely():
    html = inline_markdown("**Units: 1** per `sms.sent` <script>alert(1)</script>\n\nNext")
    assert html == (
        "<p><strong>Units: 1</strong> per <code>sms.sent</code> &lt;script&gt;alert(1)&lt;/script&gt;</p><p>Next</p>"
    )


def test_the_monetized_api_comes_first_in_the_schema(demo_plans):
    paths = list(openapi_document()["paths"])
    first_customer = next(i for i, p in enumerate(paths) if not p.startswith("/v1/"))
    assert all(p.startswith("/v1/") for p in paths[:first_customer])
    assert not any(p.startswith("/v1/") for p in paths[first_customer:])
