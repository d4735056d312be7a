"""Customer REST API for billing: subscription and invoices (org-scoped, roles); the\nendpoint parts of the isolation and role checks stay here with the invoices they pair with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import Role
from billing.invoices import invoice_build
from plans.models import Subscription
from tests.billing.test_invoices import independent_total_minor
from tests.conftest import checkout_path, signed_in
from tests.factories import MembershipFactory, UserFactory
from webhooks.delivery import secret_new
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def role_client(client, org, role):
    member = UserFactory()
    MembershipFactory(organization=org, user=member, role=role)
    return signed_in(client, member, org)


def closed_invoice(org, plans, usage):
    sub = Subscription.objects.create(
        organization=org,
        plan=plans["pro"],
        price=plans["pro"].prices.get(currency="NGN"),
        currency="NGN",
        current_period_start=START,
        current_period_end=END,
    )
    return invoice_build(subscription=sub, start=START, end=END, units_by_meter=usage)


def problem(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_subscription_free_then_pro_after_checkout(usd_client, usd_org, deliver):
    free = usd_client.get("/api/billing/subscription/").json()
    assert free == {
        "plan": "free",
        "plan_name": free["plan_name"],
        "status": "free",
        "currency": "USD",
        "provider": "",
        "current_period_start": None,
        "current_period_end": None,
        "cancel_at_period_end": False,
    }
    deliver(
        usd_client.post,
        checkout_path(usd_client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    sub = Subscription.objects.get(organization=usd_org, status="active")
    body = usd_client.get("/api/billing/subscription/").json()
    assert body["plan"] == "pro" and body["status"] == "active" and body["provider"] == "stripe"
    assert datetime.fromisoformat(body["current_period_end"]) == sub.current_period_end
    # The checkout's invoice is in the API at once, with its plan line.
    [listed] = usd_client.get("/api/billing/invoices/").json()
    assert listed["status"] == "paid" and listed["total_minor"] == 1_000
    detail = usd_client.get(f"/api/billing/invoices/{listed['number']}/").json()
    assert [(line["kind"], line["amount_minor"]) for line in detail["lines"]] == [("plan", 1_000)]


def test_invoice_list_and_detail_match_the_independent_calculation(ngn_client, ngn_org, plans):
    usage = {"sms.sent": 1_333, "ai.tokens": 100_007}
    invoice = closed_invoice(ngn_org, plans, usage)
    listed = ngn_client.get("/api/billing/invoices/").json()
    assert [row["number"] for row in listed] == [invoice.number]
    body = ngn_client.get(f"/api/billing/invoices/{invoice.number}/").json()
    from plans.models import MeterPrice

    prices = {
        mp.meter.code: (mp.included_units, str(mp.unit_price), None)
        for mp in MeterPrice.objects.filter(plan=plans["pro"], currency="NGN").select_related("meter")
    }
    assert body["total_minor"] == independent_total_minor(1_500_000, usage, prices)
    assert body["total_minor"] == sum(line["amount_minor"] for line in body["lines"])
    assert body["currency"] == "NGN" and body["status"] == "open" and body["paid_at"] is None
    assert {line["meter_code"] for line in body["lines"] if line["kind"] != "plan"} == {"sms.sent", "ai.tokens"}


def test_another_orgs_invoice_and_endpoint_are_404(ngn_client, other_org, plans):
    invoice = closed_invoice(other_org, plans, {})
    endpoint = WebhookEndpoint.objects.create(organization=other_org, url="https://example.com/h", secret=secret_new())
    problem(ngn_client.get(f"/api/billing/invoices/{invoice.number}/"), 404)
    assert ngn_client.get("/api/billing/invoices/").json() == []
    assert ngn_client.get("/api/billing/webhooks/").json() == []
    problem(ngn_client.get(f"/api/billing/webhooks/{endpoint.pk}/deliveries/"), 404)
    problem(ngn_client.post(f"/api/billing/webhooks/{endpoint.pk}/test/"), 404)
    problem(ngn_client.delete(f"/api/billing/webhooks/{endpoint.pk}/"), 404)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists() and not WebhookDelivery.objects.exists()


def test_roles_developer_cannot_read_invoices_billing_cannot_manage_webhooks(client, org, plans):
    invoice = closed_invoice(org, plans, {})
    developer = role_client(client, org, Role.DEVELOPER)
    problem(developer.get("/api/billing/invoices/"), 403)
    problem(developer.get(f"/api/billing/invoices/{invoice.number}/"), 403)
    assert developer.get("/api/billing/webhooks/").status_code == 200
    client.logout()
    billing = role_client(client, org, Role.BILLING)
    assert billing.get("/api/billing/invoices/").status_code == 200
    problem(billing.get("/api/billing/webhooks/"), 403)
    problem(
        billing.post(
            "/api/billing/webhooks/",
            {"url": "https://example.com/h", "event_types": ["invoice.paid"]},
            content_type="application/json",
        ),
        403,
    )
    assert not WebhookEndpoint.objects.exists()


def test_anonymous_is_refused(client):
    assert client.get("/api/billing/invoices/").status_code in (401, 403)
    assert client.get("/api/billing/subscription/").status_code in (401, 403)
