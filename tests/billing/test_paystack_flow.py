"""Free → Pro for an NGN organization through Paystack (the sandbox behind httpx)."""

from __future__ import annotations

import pytest

from billing.models import BillingProfile, Checkout, CheckoutStatus, EventStatus, ProviderEvent
from plans.models import Subscription, SubscriptionStatus
from plans.selectors import plan_for_org
from sandbox import store
from tests.conftest import checkout_path, event_types

pytestmark = pytest.mark.django_db


def test_paystack_upgrade_in_ngn(ngn_client, ngn_org, plans, deliver):
    page = checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    assert "/sandbox/checkout/paystack/" in page
    checkout = Checkout.objects.get(organization=ngn_org)
    assert (checkout.provider, checkout.amount_minor, checkout.currency) == ("paystack", 1_500_000, "NGN")
    assert plans["pro"].prices.get(currency="NGN").paystack_plan_code.startswith("PLN_")
    assert b"15,000.00" in ngn_client.get(page).content

    response = deliver(ngn_client.post, page, {"card_number": "4242424242424242"})
    assert response.status_code == 302 and "trxref=" in response["Location"]
    assert event_types("paystack") == ["charge.success", "subscription.create"]
    sub = Subscription.objects.get(organization=ngn_org, status=SubscriptionStatus.ACTIVE)
    assert (sub.plan.code, sub.provider, sub.currency) == ("pro", "paystack", "NGN")
    assert sub.provider_subscription_id.startswith("SUB_")
    profile = BillingProfile.objects.get(organization=ngn_org)
    assert profile.paystack_authorization_code.startswith("AUTH_") and profile.paystack_email_token
    assert plan_for_org(org_id=ngn_org.pk).code == "pro"
    assert set(ProviderEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    # The callback page re-verifies and is a no-op now.
    assert ngn_client.get(response["Location"]).status_code == 302
    assert Subscription.objects.filter(organization=ngn_org).count() == 1


def test_tampered_amount_is_refused(ngn_client, ngn_org, deliver):
    """An attacker pays 1 naira for the reference: verify reports the real amount, so no plan."""
    page = checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    reference = Checkout.objects.get(organization=ngn_org).reference
    tx = store.get("paystack", "transaction", reference)
    tx["amount"] = 100
    store.put("paystack", "transaction", reference, tx)

    deliver(ngn_client.post, page, {"card_number": "4242424242424242"})
    assert not Subscription.objects.filter(organization=ngn_org, status__in=["active", "past_due"]).exists()
    event = ProviderEvent.objects.get(event_type="charge.success")
    assert event.status == EventStatus.FAILED and "expected 1500000 NGN" in event.error
    assert plan_for_org(org_id=ngn_org.pk).code == "free"


def test_tampered_currency_is_refused(ngn_client, ngn_org, deliver):
    page = checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    reference = Checkout.objects.get(organization=ngn_org).reference
    tx = store.get("paystack", "transaction", reference)
    tx["currency"] = "GHS"
    store.put("paystack", "transaction", reference, tx)
    deliver(ngn_client.post, page, {"card_number": "4242424242424242"})
    assert plan_for_org(org_id=ngn_org.pk).code == "free"
    assert Checkout.objects.get(organization=ngn_org).status != CheckoutStatus.COMPLETED


def test_paystack_declined_card(ngn_client, ngn_org, deliver):
    page = checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    response = deliver(ngn_client.post, page, {"card_number": "4000000000000002"})
    assert response.status_code == 402
    assert not Subscription.objects.filter(organization=ngn_org).exists()


def test_currency_picks_provider(settings):
    from billing.providers import provider_name_for_currency

    assert [provider_name_for_currency(c) for c in ("NGN", "GHS", "ZAR", "KES", "USD", "EUR")] == [
        "paystack",
        "paystack",
        "paystack",
        "paystack",
        "stripe",
        "stripe",
    ]
    settings.PAYSTACK_CURRENCIES = ["NGN"]
    assert provider_name_for_currency("KES") == "stripe"
