"""The sandbox's customer portal, the admin views of provider events, beat wiring, isolation."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from billing.models import ProviderEvent
from plans.models import Subscription, SubscriptionStatus
from tests.conftest import checkout_path

pytestmark = pytest.mark.django_db


def buy(client, deliver):
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )


@pytest.mark.parametrize("client_fixture,org_fixture", [("usd_client", "usd_org"), ("ngn_client", "ngn_org")])
def test_manage_card_opens_sandbox_portal_where_a_failed_renewal_starts_dunning(
    request, client_fixture, org_fixture, deliver
):
    client, org = request.getfixturevalue(client_fixture), request.getfixturevalue(org_fixture)
    buy(client, deliver)
    response = client.post("/billing/manage/")
    assert response.status_code == 302 and "/sandbox/portal/" in response["Location"]
    portal = response["Location"].split("127.0.0.1:8000")[-1]
    page = client.get(portal)
    assert page.status_code == 200 and b"SANDBOX" in page.content
    deliver(client.post, portal, {"action": "renew_fail"})
    assert Subscription.objects.get(organization=org).status == SubscriptionStatus.PAST_DUE
    deliver(client.post, portal, {"action": "renew_ok"})
    assert Subscription.objects.get(organization=org).status == SubscriptionStatus.ACTIVE


def test_checkout_return_of_another_org_is_404(usd_client, other_org, plans, user):
    from billing.models import Checkout

    checkout = Checkout.objects.create(
        organization=other_org,
        plan=plans["pro"],
        price=plans["pro"].prices.get(currency="USD"),
        provider="stripe",
        reference="cs_test_other",
        url="https://x",
        amount_minor=1000,
        currency="USD",
    )
    assert usd_client.get(f"/billing/checkout/return/stripe/?session_id={checkout.reference}").status_code == 404


def test_admin_lists_provider_events_with_errors(admin_client, usd_client, deliver):
    buy(usd_client, deliver)
    ProviderEvent.objects.create(provider="paystack", body="{}", status="failed", error="Payment mismatch: paid 1")
    page = admin_client.get("/admin/billing/providerevent/?status=failed")
    assert page.status_code == 200 and b"Payment mismatch" in page.content
    assert admin_client.get("/admin/billing/invoice/").status_code == 200


def test_beat_schedule_points_at_registered_tasks():
    from portal.celery import app

    app.loader.import_default_modules()
    for name in ("billing-dunning-expire", "billing-close-periods"):
        assert django_settings.CELERY_BEAT_SCHEDULE[name]["task"] in app.tasks
