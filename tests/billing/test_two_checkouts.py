"""One organization, two checkouts: one open checkout at a time, and a second payment that
arrives anyway is refunded — the live plan is never swapped away and no money is kept."""

from __future__ import annotations

import pytest

from billing.models import Checkout, CheckoutStatus, Compensation, CompensationStatus, Payment
from plans.models import Subscription, SubscriptionStatus
from plans.selectors import plan_for_org
from sandbox import store
from tests.conftest import checkout_path

pytestmark = pytest.mark.django_db


def remote(provider: str, kind: str, object_id: str) -> dict:
    """An object in the sandbox provider's store (it must exist)."""
    found = store.get(provider, kind, object_id)
    assert found is not None, (provider, kind, object_id)
    return found


CARD = {"card_number": "4242424242424242"}


def start(client, plan="pro"):
    return checkout_path(client.post("/billing/checkout/", {"plan": plan}))


def reference_of(page):
    return page.rstrip("/").rsplit("/", 1)[1]


def test_starting_a_second_checkout_expires_the_first_at_the_provider(usd_client, usd_org, deliver):
    first = start(usd_client)
    second = start(usd_client)
    assert Checkout.objects.get(reference=reference_of(first)).status == CheckoutStatus.EXPIRED
    assert Checkout.objects.get(reference=reference_of(second)).status == CheckoutStatus.OPEN
    assert remote("stripe", "checkout.session", reference_of(first))["status"] == "expired"
    response = deliver(usd_client.post, first, CARD)  # the first page cannot be paid any more
    assert response.status_code == 410
    assert store.all_of("stripe", "charge") == [] and not Subscription.objects.filter(organization=usd_org).exists()


def test_a_checkout_paid_before_the_next_one_starts_is_confirmed_instead(usd_client, usd_org, deliver, settings):
    first = start(usd_client)
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "none"  # paid, but we have not heard yet
    from sandbox import actions

    deliver(actions.stripe_complete_checkout, reference_of(first), CARD["card_number"])
    response = deliver(usd_client.post, "/billing/checkout/", {"plan": "pro"})
    assert response.status_code == 302 and response["Location"] == "/billing/"
    assert Checkout.objects.filter(organization=usd_org).count() == 1
    assert Checkout.objects.get(organization=usd_org).status == CheckoutStatus.COMPLETED
    assert plan_for_org(org_id=usd_org.pk).code == "pro"


def test_paystack_two_paid_checkouts_keep_the_first_plan_and_refund_the_second(ngn_client, ngn_org, deliver):
    first, second = start(ngn_client), start(ngn_client)  # Paystack cannot expire the first page
    deliver(ngn_client.post, second, CARD)
    live = Subscription.objects.get(organization=ngn_org, status=SubscriptionStatus.ACTIVE)

    response = deliver(ngn_client.post, first, CARD)  # paid anyway, in another tab
    assert response.status_code == 302
    landing = deliver(ngn_client.get, response["Location"], follow=True)
    assert b"refunded" in landing.content

    live.refresh_from_db()
    assert live.status == SubscriptionStatus.ACTIVE, "the first plan was swapped away"
    assert Subscription.objects.filter(organization=ngn_org, status__in=["active", "past_due"]).count() == 1
    refunds = [r for r in store.all_of("paystack", "refund") if r["transaction_reference"] == reference_of(first)]
    assert [int(r["amount"]) for r in refunds] == [1_500_000]
    assert Checkout.objects.get(reference=reference_of(first)).status == CheckoutStatus.REFUNDED
    assert Payment.objects.get(reference=reference_of(first)).status == "refunded"
    # The subscription Paystack created for the second payment does not renew.
    renewing = [s["subscription_code"] for s in store.all_of("paystack", "subscription") if s["status"] == "active"]
    assert renewing == [live.provider_subscription_id]
    assert set(Compensation.objects.values_list("status", flat=True)) == {CompensationStatus.DONE}


def test_stripe_second_payment_is_refunded_and_its_subscription_canceled(usd_client, usd_org, deliver, settings):
    from sandbox import actions
    from sandbox.emit import webhooks_redeliver

    first = start(usd_client)
    second = start(usd_client)
    session = remote("stripe", "checkout.session", reference_of(first))
    session["status"] = "open"  # the customer paid the first one in the instant before it was expired
    store.put("stripe", "checkout.session", reference_of(first), session)
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "none"  # both paid before we hear of either
    deliver(actions.stripe_complete_checkout, reference_of(first), CARD["card_number"])
    deliver(actions.stripe_complete_checkout, reference_of(second), CARD["card_number"])
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "inprocess"
    deliver(webhooks_redeliver, "stripe")

    live = Subscription.objects.get(organization=usd_org, status=SubscriptionStatus.ACTIVE)
    assert Checkout.objects.get(reference=reference_of(first)).subscription == live
    assert Checkout.objects.get(reference=reference_of(second)).status == CheckoutStatus.REFUNDED
    charges = store.all_of("stripe", "charge")
    assert len(charges) == 2 and sorted(c["amount_refunded"] for c in charges) == [0, charges[0]["amount"]]
    second_sub = remote("stripe", "checkout.session", reference_of(second))["subscription"]
    assert remote("stripe", "subscription", second_sub)["status"] == "canceled"
    assert remote("stripe", "subscription", live.provider_subscription_id)["status"] == "active"
    assert Payment.objects.get(reference=reference_of(second)).status == "refunded"


def test_an_open_checkout_at_a_provider_switched_off_since_is_simply_expired(ngn_client, ngn_org, settings):
    first = start(ngn_client)  # Paystack
    settings.PAYSTACK_ENABLED = False  # NGN is now paid through Stripe
    second = start(ngn_client)
    assert Checkout.objects.get(reference=reference_of(first)).status == CheckoutStatus.EXPIRED
    assert Checkout.objects.get(reference=reference_of(second)).provider == "stripe"
