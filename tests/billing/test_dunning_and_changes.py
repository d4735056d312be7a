"""Failed payment → past_due → (grace) → Free → payment recovered → plan restored; plan changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.dunning import dunning_expire
from billing.models import BillingProfile, Payment
from billing.plan_changes import proration_minor
from plans.models import Subscription, SubscriptionStatus
from plans.selectors import plan_for_org
from sandbox import actions, store
from sandbox.cards import CARD_DECLINED, CARD_SUCCEEDS
from tests.conftest import checkout_path

pytestmark = pytest.mark.django_db


def buy(client, deliver, plan="pro"):
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": plan})),
        {"card_number": "4242424242424242"},
    )


@pytest.mark.parametrize(
    "currency_client,org_fixture,renew",
    [
        ("usd_client", "usd_org", actions.stripe_renewal),
        ("ngn_client", "ngn_org", actions.paystack_renewal),
    ],
)
def test_failed_payment_dunning_downgrade_and_recovery(request, currency_client, org_fixture, renew, deliver, settings):
    client, org = request.getfixturevalue(currency_client), request.getfixturevalue(org_fixture)
    buy(client, deliver)
    sub = Subscription.objects.get(organization=org, status=SubscriptionStatus.ACTIVE)
    mail.outbox.clear()

    assert deliver(renew, sub.provider_subscription_id, card=CARD_DECLINED) == "declined"
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.PAST_DUE and sub.past_due_since is not None
    assert plan_for_org(org_id=org.pk).code == "pro"  # grace: still Pro
    failed_mail = next(m for m in mail.outbox if "payment failed" in m.subject.lower())
    assert failed_mail.to == [org.billing_email] and "7 days" in failed_mail.body and failed_mail.alternatives
    overview = client.get("/billing/")
    assert b"Your last payment failed" in overview.content
    assert b"Payment failed" in client.get("/billing/card/plan/").content

    # Not yet: inside the grace period nothing changes.
    assert deliver(dunning_expire, now=timezone.now() + timedelta(days=settings.BILLING_GRACE_DAYS - 1)) == 0
    # After the grace period: Free (keys keep working at Free limits).
    assert deliver(dunning_expire, now=timezone.now() + timedelta(days=settings.BILLING_GRACE_DAYS, minutes=1)) == 1
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.CANCELED and plan_for_org(org_id=org.pk).code == "free"
    from django_redis import get_redis_connection

    from usage.entitlements import entitlements_key

    assert get_redis_connection("default").hget(entitlements_key(org.pk), "plan") == b"free"
    assert BillingProfile.objects.get(organization=org).downgraded_from_id == sub.pk
    assert any("Free plan" in m.subject for m in mail.outbox)

    # The customer fixes the card; the provider's retry succeeds → the paid plan is restored.
    assert deliver(renew, sub.provider_subscription_id, card=CARD_SUCCEEDS) == "succeeded"
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE and sub.past_due_since is None
    assert plan_for_org(org_id=org.pk).code == "pro"
    assert any("active again" in m.subject for m in mail.outbox)


def test_recovery_inside_grace_period(usd_client, usd_org, deliver):
    buy(usd_client, deliver)
    sub = Subscription.objects.get(organization=usd_org)
    deliver(actions.stripe_renewal, sub.provider_subscription_id, card=CARD_DECLINED)
    deliver(actions.stripe_renewal, sub.provider_subscription_id, card=CARD_SUCCEEDS)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE


def test_cancel_at_period_end_keeps_plan_until_then(usd_client, usd_org, deliver):
    buy(usd_client, deliver)
    response = deliver(usd_client.post, "/billing/cancel/")
    assert response.status_code == 302
    sub = Subscription.objects.get(organization=usd_org)
    assert sub.cancel_at_period_end and sub.status == SubscriptionStatus.ACTIVE
    assert store.get("stripe", "subscription", sub.provider_subscription_id)["cancel_at_period_end"] is True
    assert plan_for_org(org_id=usd_org.pk).code == "pro"
    assert b"Keep my plan" in usd_client.get("/billing/").content
    deliver(usd_client.post, "/billing/resume/")
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end
    assert store.get("stripe", "subscription", sub.provider_subscription_id)["cancel_at_period_end"] is False
    deliver(usd_client.post, "/billing/cancel/")
    sub.refresh_from_db()
    from billing.subscriptions import subscriptions_end_canceled

    assert deliver(subscriptions_end_canceled, now=sub.current_period_end + timedelta(seconds=1)) == 1
    assert plan_for_org(org_id=usd_org.pk).code == "free"


def test_paystack_cancel_stops_renewal_but_keeps_the_paid_period(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    sub = Subscription.objects.get(organization=ngn_org)
    deliver(ngn_client.post, "/billing/cancel/")
    assert store.get("paystack", "subscription", sub.provider_subscription_id)["status"] == "complete"
    sub.refresh_from_db()
    # subscription.disable re-fetched: Paystack says complete, but the period is paid for.
    assert sub.status == SubscriptionStatus.ACTIVE and sub.cancel_at_period_end
    assert plan_for_org(org_id=ngn_org.pk).code == "pro"
    from billing.subscriptions import subscriptions_end_canceled

    assert deliver(subscriptions_end_canceled, now=sub.current_period_end + timedelta(seconds=1)) == 1
    assert plan_for_org(org_id=ngn_org.pk).code == "free"


def test_stripe_upgrade_prorates_and_downgrade_does_not_charge(usd_client, usd_org, plans, deliver):
    from plans.models import Price

    Price.objects.create(plan=plans["enterprise"], currency="USD", interval="month", amount_minor=5000)
    buy(usd_client, deliver)
    charges_before = len(store.all_of("stripe", "charge"))
    response = deliver(usd_client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert response.status_code == 302 and response["Location"] == "/billing/"
    sub = Subscription.objects.get(organization=usd_org, status="active")
    assert sub.plan.code == "enterprise"
    charges = store.all_of("stripe", "charge")
    assert len(charges) == charges_before + 1 and 0 < charges[-1]["amount"] <= 4000  # prorated difference
    deliver(usd_client.post, "/billing/checkout/", {"plan": "pro"})
    sub.refresh_from_db()
    assert sub.plan.code == "pro" and len(store.all_of("stripe", "charge")) == charges_before + 1


def test_paystack_upgrade_charges_proration_to_saved_card(ngn_client, ngn_org, plans, deliver):
    from plans.models import Price

    Price.objects.create(plan=plans["enterprise"], currency="NGN", interval="month", amount_minor=4_500_000)
    buy(ngn_client, deliver)
    old = Subscription.objects.get(organization=ngn_org).provider_subscription_id
    deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    assert sub.plan.code == "enterprise" and sub.provider_subscription_id != old
    assert store.get("paystack", "subscription", old)["status"] == "complete"
    upgrade_payment = Payment.objects.filter(organization=ngn_org, reference__contains="upgrade").get()
    assert 2_999_000 <= upgrade_payment.amount_minor <= 3_000_000


def test_proration_rounding_is_half_even():
    start = timezone.now()
    end = start + timedelta(days=30)
    assert proration_minor(old_minor=1000, new_minor=5000, period_start=start, period_end=end, now=start) == 4000
    assert (
        proration_minor(old_minor=0, new_minor=1, period_start=start, period_end=end, now=start + timedelta(days=15))
        == 0
    )
    assert (
        proration_minor(old_minor=0, new_minor=3, period_start=start, period_end=end, now=start + timedelta(days=15))
        == 2
    )


def test_refund_and_dispute_are_recorded(usd_client, usd_org, deliver):
    import json

    from sandbox.emit import stripe_signature

    buy(usd_client, deliver)
    charge = store.all_of("stripe", "charge")[-1]
    from billing.providers import provider_get

    deliver(provider_get("stripe").refund, reference=charge["id"], amount_minor=400)
    payment = Payment.objects.get(reference=charge["id"])
    assert payment.refunded_minor == 400 and payment.status == "partially_refunded"
    dispute = {
        "id": "evt_dp1",
        "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_1", "charge": charge["id"], "amount": 1000, "status": "needs_response"}},
    }
    body = json.dumps(dispute)
    usd_client.post(
        "/billing/webhooks/stripe/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body)},
    )
    payment.refresh_from_db()
    assert payment.status == "disputed" and payment.dispute_status == "needs_response"


def test_paystack_refund_webhook_updates_payment(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    from billing.models import Checkout
    from billing.providers import provider_get

    reference = Checkout.objects.get(organization=ngn_org).reference
    deliver(provider_get("paystack").refund, reference=reference)
    payment = Payment.objects.get(reference=reference)
    assert payment.status == "refunded" and payment.refunded_minor == 1_500_000


def test_paystack_resume_re_enables_a_not_renewing_subscription(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    sub = Subscription.objects.get(organization=ngn_org)
    remote = store.get("paystack", "subscription", sub.provider_subscription_id)
    remote["status"] = "non-renewing"  # what Paystack reports after subscription.not_renew
    store.put("paystack", "subscription", sub.provider_subscription_id, remote)
    from sandbox.emit import paystack_emit

    deliver(paystack_emit, "subscription.not_renew", remote)
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == SubscriptionStatus.ACTIVE
    deliver(ngn_client.post, "/billing/resume/")
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end
    assert store.get("paystack", "subscription", sub.provider_subscription_id)["status"] == "active"


def test_paystack_upgrade_that_cannot_switch_the_plan_refunds_its_charge(ngn_client, ngn_org, plans, deliver):
    from plans.models import Price

    Price.objects.create(plan=plans["enterprise"], currency="NGN", interval="month", amount_minor=4_500_000)
    buy(ngn_client, deliver)
    sub = Subscription.objects.get(organization=ngn_org)
    remote = store.get("paystack", "subscription", sub.provider_subscription_id)
    remote["customer"] = {"customer_code": "CUS_gone", "email": "gone@example.com"}  # the switch will fail
    store.put("paystack", "subscription", sub.provider_subscription_id, remote)

    response = deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})

    assert response.status_code == 302 and response["Location"] == "/billing/"  # back, with the error shown
    sub.refresh_from_db()
    assert sub.plan.code == "pro"
    charge = Payment.objects.get(organization=ngn_org, reference__contains="upgrade")
    refunds = [r for r in store.all_of("paystack", "refund") if r["transaction_reference"] == charge.reference]
    assert len(refunds) == 1 and int(refunds[0]["amount"]) == charge.amount_minor
