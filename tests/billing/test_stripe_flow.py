"""Free → Pro for a USD organization through Stripe (the sandbox behind the real SDK)."""

from __future__ import annotations

import pytest

from billing.models import Checkout, CheckoutStatus, EventStatus, ProviderEvent
from plans.models import Subscription, SubscriptionStatus
from plans.selectors import plan_for_org
from tests.conftest import checkout_path, event_types

pytestmark = pytest.mark.django_db


def upgrade(client, deliver, plan="pro", card="4242 4242 4242 4242"):
    response = client.post("/billing/checkout/", {"plan": plan})
    page = checkout_path(response)
    assert client.get(page).status_code == 200
    return deliver(client.post, page, {"card_number": card})


def test_stripe_upgrade_free_to_pro_activates_paid_plan(usd_client, usd_org, deliver, redis_client):
    from usage.entitlements import entitlements_key

    assert plan_for_org(org_id=usd_org.pk).code == "free"
    response = upgrade(usd_client, deliver)
    assert (
        response.status_code == 302 and "/billing/checkout/return/stripe/?session_id=cs_test_" in response["Location"]
    )

    sub = Subscription.objects.get(organization=usd_org, status=SubscriptionStatus.ACTIVE)
    assert sub.plan.code == "pro" and sub.provider == "stripe" and sub.currency == "USD"
    assert sub.provider_subscription_id.startswith("sub_") and sub.provider_customer_id.startswith("cus_")
    assert plan_for_org(org_id=usd_org.pk).code == "pro"
    # The hot path's entitlements were republished: keys use Pro limits on the next request.
    published = redis_client.hgetall(entitlements_key(usd_org.pk))
    assert published[b"plan"] == b"pro" and published[b"quota"] == b"50000"
    assert Checkout.objects.get(organization=usd_org).status == CheckoutStatus.COMPLETED
    # The webhooks the sandbox signed went through our endpoint and were processed.
    assert event_types("stripe") == ["checkout.session.completed", "customer.subscription.created", "invoice.paid"]
    assert set(ProviderEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}

    # The return page confirms idempotently and lands on the dashboard.
    landing = usd_client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"] == "/dashboard/"
    assert Subscription.objects.filter(organization=usd_org).count() == 1
    card = usd_client.get("/billing/card/plan/")
    assert b"Pro" in card.content and b'id="card-plan"' in card.content


def test_declined_card_changes_nothing(usd_client, usd_org, deliver):
    response = upgrade(usd_client, deliver, card="4000 0000 0000 0002")
    assert response.status_code == 402 and b"declined" in response.content
    assert not Subscription.objects.filter(organization=usd_org).exists()
    assert event_types("stripe") == []


def test_card_requiring_authentication_needs_the_confirm_step(usd_client, usd_org, deliver):
    response = upgrade(usd_client, deliver, card="4000 0025 0000 3155")
    assert response.status_code == 302 and response["Location"].endswith("/authenticate/")
    assert not Subscription.objects.filter(organization=usd_org).exists()
    done = deliver(usd_client.post, response["Location"], {"action": "complete"})
    assert done.status_code == 302
    assert plan_for_org(org_id=usd_org.pk).code == "pro"


def test_checkout_uses_stripe_for_usd_and_records_expected_amount(usd_client, usd_org, plans):
    checkout_path(usd_client.post("/billing/checkout/", {"plan": "pro"}))
    checkout = Checkout.objects.get(organization=usd_org)
    assert (checkout.provider, checkout.amount_minor, checkout.currency) == ("stripe", 1000, "USD")
    assert plans["pro"].prices.get(currency="USD").stripe_price_id.startswith("price_")


def test_free_plan_cannot_be_bought(usd_client, usd_org):
    response = usd_client.post("/billing/checkout/", {"plan": "free"}, follow=True)
    assert b"cannot" in response.content or b"no USD price" in response.content
    assert not Checkout.objects.exists()


def test_developer_role_cannot_start_checkout(client, usd_org, plans):
    from accounts.models import Membership, Role
    from tests.factories import UserFactory

    dev = UserFactory()
    Membership.objects.create(organization=usd_org, user=dev, role=Role.DEVELOPER)
    client.force_login(dev)
    session = client.session
    session["active_org_id"] = usd_org.pk
    session.save()
    assert client.post("/billing/checkout/", {"plan": "pro"}).status_code == 403


def test_pricing_page_currency_choice_picks_provider(ngn_client, ngn_org, plans):
    """An NGN organization that chooses to pay in USD on the pricing page goes to Stripe."""
    checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro", "currency": "USD"}))
    checkout = Checkout.objects.get(organization=ngn_org)
    assert (checkout.provider, checkout.currency, checkout.amount_minor) == ("stripe", "USD", 1000)


def test_pricing_page_upgrade_button_posts_to_checkout(usd_client, usd_org, plans):
    page = usd_client.get("/pricing/?currency=USD")
    assert page.status_code == 200 and b'action="/billing/checkout/"' in page.content
