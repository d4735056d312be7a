"""Browser: invoice print view, webhook endpoint page with deliveries, past-due banner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from billing.invoices import invoice_build
from plans.models import Subscription
from plans.services import plans_seed_demo
from tests.factories import OrganizationFactory, UserFactory
from webhooks.delivery import secret_new
from webhooks.models import CustomerEvent, DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint


def login(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")


@pytest.mark.django_db(transaction=True)
def test_invoice_prints_without_site_chrome_and_webhook_page(page, live_server, settings, artifacts_dir):
    settings.SITE_URL = live_server.url
    plans = {p.code: p for p in plans_seed_demo()}
    user = UserFactory()
    org = OrganizationFactory(owner=user, currency="NGN", name="Kano Logistics", billing_email="ap@kano.example")
    sub = Subscription.objects.create(
        organization=org,
        plan=plans["pro"],
        price=plans["pro"].prices.get(currency="NGN"),
        currency="NGN",
        status="past_due",
        past_due_since=timezone.now(),
        provider="paystack",
        current_period_start=datetime(2026, 10, 1, tzinfo=UTC),
        current_period_end=datetime(2026, 11, 1, tzinfo=UTC),
    )
    invoice = invoice_build(
        subscription=sub,
        start=sub.current_period_start,
        end=sub.current_period_end,
        units_by_meter={"sms.sent": 3_250, "delivery.status_check": 7_120, "ai.tokens": 154_000},
    )
    endpoint = WebhookEndpoint.objects.create(
        organization=org,
        url="https://hooks.kano.example/tollgate",
        event_types=["invoice.created", "payment.failed"],
        secret=secret_new(),
    )
    event = CustomerEvent.objects.create(organization=org, public_id="evt_demo1", type="invoice.created", data={})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=DeliveryStatus.RETRYING,
        attempt_count=1,
        next_attempt_at=timezone.now() + timezone.timedelta(seconds=30),
    )
    DeliveryAttempt.objects.create(delivery=delivery, response_status=500, response_body="oops", duration_ms=87)

    login(page, live_server, user)
    page.wait_for_selector("#card-plan .dunning-inline")
    page.screenshot(path=str(artifacts_dir / "dashboard-past-due.png"), full_page=True)

    page.goto(f"{live_server.url}/billing/")
    assert page.get_by_text("Your last payment failed").is_visible()
    page.screenshot(path=str(artifacts_dir / "billing-past-due.png"), full_page=True)

    page.goto(f"{live_server.url}/billing/invoices/{invoice.number}/")
    assert page.get_by_text("₦98,000.00").first.is_visible() or page.locator(".invoice-lines tfoot").is_visible()
    page.screenshot(path=str(artifacts_dir / "invoice-screen.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and page.locator(".invoice-sheet").is_visible()
    page.screenshot(path=str(artifacts_dir / "invoice-print.png"), full_page=True)
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/billing/endpoints/{endpoint.pk}/")
    assert page.get_by_text("HTTP 500").is_visible()
    page.screenshot(path=str(artifacts_dir / "webhook-endpoint.png"), full_page=True)
