"""Paystack calls under timeouts and 5xx (injected by the sandbox transport): only what is
safe is retried, anything else is looked up first, and a charge refused as a duplicate
reference is verified — never a duplicate object, never a lost payment."""

from __future__ import annotations

import pytest

from billing.models import Checkout, Payment
from billing.providers import base as provider_base
from billing.providers import provider_get
from plans.models import Price, Subscription
from sandbox import store
from sandbox.faults import fault_inject, faults_clear, sandbox_counters
from tests.conftest import checkout_path

pytestmark = pytest.mark.django_db


def remote(provider: str, kind: str, object_id: str) -> dict:
    """An object in the sandbox provider's store (it must exist)."""
    found = store.get(provider, kind, object_id)
    assert found is not None, (provider, kind, object_id)
    return found


CARD = {"card_number": "4242424242424242"}


def buy(client, deliver, plan="pro"):
    deliver(client.post, checkout_path(client.post("/billing/checkout/", {"plan": plan})), CARD)


def refunds_of(reference):
    return [r for r in store.all_of("paystack", "refund") if r["transaction_reference"] == reference]


@pytest.fixture
def enterprise_ngn(plans):
    return Price.objects.create(plan=plans["enterprise"], currency="NGN", interval="month", amount_minor=4_500_000)


@pytest.mark.parametrize("fault", ["timeout_after", "503_after"])
def test_a_refund_whose_answer_is_lost_is_looked_up_not_sent_again(ngn_client, ngn_org, deliver, fault):
    buy(ngn_client, deliver)
    reference = Checkout.objects.get(organization=ngn_org).reference
    fault_inject("paystack", "POST", "/refund", fault)
    refund_id = deliver(provider_get("paystack").refund, reference=reference)
    assert [str(r["id"]) for r in refunds_of(reference)] == [refund_id]
    assert sandbox_counters()["paystack:faults"] == 1


def test_a_refund_refused_with_a_503_before_it_applies_is_sent_again_once(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    reference = Checkout.objects.get(organization=ngn_org).reference
    fault_inject("paystack", "POST", "/refund", "503_before")
    deliver(provider_get("paystack").refund, reference=reference)
    assert len(refunds_of(reference)) == 1


def test_a_lost_refund_answer_that_cannot_be_looked_up_is_an_unknown_outcome(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    reference = Checkout.objects.get(organization=ngn_org).reference
    fault_inject("paystack", "POST", "/refund", "timeout_after")
    fault_inject("paystack", "GET", "/refund", "503_before", times=10, skip=1)  # after the first listing
    with pytest.raises(provider_base.ProviderOutcomeUnknown):
        provider_get("paystack").refund(reference=reference)
    assert len(refunds_of(reference)) == 1


def test_a_plan_create_whose_answer_is_lost_creates_one_plan(ngn_client, ngn_org, plans):
    fault_inject("paystack", "POST", "/plan", "timeout_after")
    checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    price = plans["pro"].prices.get(currency="NGN")
    created = [p for p in store.all_of("paystack", "plan") if p["amount"] == price.amount_minor]
    assert [p["plan_code"] for p in created] == [price.paystack_plan_code]


def test_an_upgrade_whose_subscription_answer_is_lost_subscribes_once(ngn_client, ngn_org, enterprise_ngn, deliver):
    buy(ngn_client, deliver)
    old = Subscription.objects.get(organization=ngn_org)
    fault_inject("paystack", "POST", "/subscription", "timeout_after")
    deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    assert sub.plan.code == "enterprise"
    live = [s for s in store.all_of("paystack", "subscription") if s["status"] == "active"]
    assert [s["subscription_code"] for s in live] == [sub.provider_subscription_id]
    assert remote("paystack", "subscription", old.provider_subscription_id)["status"] == "complete"


def test_a_retried_charge_refused_as_a_duplicate_reference_is_verified_and_counts_as_paid(
    ngn_client, ngn_org, enterprise_ngn, deliver
):
    buy(ngn_client, deliver)
    fault_inject("paystack", "POST", "/transaction/charge_authorization", "timeout_after")
    response = deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert response.status_code == 302
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    assert sub.plan.code == "enterprise", "charged for the upgrade but the plan did not change"
    charges = [t for t in store.all_of("paystack", "transaction") if "upgrade" in t["reference"]]
    assert len(charges) == 1 and charges[0]["status"] == "success"
    payment = Payment.objects.get(organization=ngn_org, reference=charges[0]["reference"])
    assert payment.amount_minor == charges[0]["amount"] and payment.refunded_minor == 0
    assert refunds_of(charges[0]["reference"]) == []


def test_gets_are_still_retried_after_timeouts_and_5xx(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    reference = Checkout.objects.get(organization=ngn_org).reference
    fault_inject("paystack", "GET", r"/transaction/verify/.+", "timeout_before")
    fault_inject("paystack", "GET", r"/transaction/verify/.+", "503_before")
    assert provider_get("paystack").fetch_payment(reference=reference).paid
    assert sandbox_counters()["paystack:faults"] == 2


def _break_the_switch(org):
    """Paystack will refuse to create the new subscription (its customer is gone)."""
    sub = Subscription.objects.get(organization=org)
    paystack_sub = remote("paystack", "subscription", sub.provider_subscription_id)
    paystack_sub["customer"] = {"customer_code": "CUS_gone", "email": "gone@example.com"}
    store.put("paystack", "subscription", sub.provider_subscription_id, paystack_sub)


def test_an_upgrade_refund_that_fails_now_is_journaled_and_refunded_once_later(
    ngn_client, ngn_org, enterprise_ngn, deliver
):
    from datetime import timedelta

    from django.utils import timezone

    from billing import compensations

    buy(ngn_client, deliver)
    _break_the_switch(ngn_org)
    fault_inject("paystack", "POST", "/refund", "503_before", times=3)
    response = deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert response.status_code == 302
    charge = Payment.objects.get(organization=ngn_org, reference__contains="upgrade")
    assert refunds_of(charge.reference) == []  # Paystack is down for refunds right now
    assert Subscription.objects.get(organization=ngn_org, status="active").plan.code == "pro"

    assert deliver(compensations.compensations_run_due, now=timezone.now() + timedelta(minutes=2)) == 1
    assert deliver(compensations.compensations_run_due, now=timezone.now() + timedelta(hours=2)) == 0
    [refund] = refunds_of(charge.reference)
    assert int(refund["amount"]) == charge.amount_minor


def test_an_upgrade_charge_with_an_unknown_outcome_is_refunded_if_it_went_through(
    ngn_client, ngn_org, enterprise_ngn, deliver
):
    from datetime import timedelta

    from django.utils import timezone

    from billing import compensations

    buy(ngn_client, deliver)
    fault_inject("paystack", "POST", "/transaction/charge_authorization", "timeout_after")
    fault_inject("paystack", "GET", r"/transaction/verify/tg_.+", "503_before", times=50)  # verify is down
    response = deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert response.status_code == 302
    assert Subscription.objects.get(organization=ngn_org, status="active").plan.code == "pro"
    [charge] = [t for t in store.all_of("paystack", "transaction") if "upgrade" in t["reference"]]
    assert charge["status"] == "success" and refunds_of(charge["reference"]) == []

    faults_clear()  # Paystack is back
    deliver(compensations.compensations_run_due, now=timezone.now() + timedelta(minutes=2))
    [refund] = refunds_of(charge["reference"])
    assert int(refund["amount"]) == charge["amount"]


def test_an_old_subscription_that_cannot_be_disabled_after_an_upgrade_is_canceled_later(
    ngn_client, ngn_org, enterprise_ngn, deliver
):
    from datetime import timedelta

    from django.utils import timezone

    from billing import compensations

    buy(ngn_client, deliver)
    old = Subscription.objects.get(organization=ngn_org).provider_subscription_id
    fault_inject("paystack", "POST", "/subscription/disable", "503_before", times=50)
    deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert Subscription.objects.get(organization=ngn_org, status="active").plan.code == "enterprise"
    assert remote("paystack", "subscription", old)["status"] == "active"  # still renewing at Paystack

    faults_clear()
    deliver(compensations.compensations_run_due, now=timezone.now() + timedelta(minutes=2))
    assert remote("paystack", "subscription", old)["status"] == "complete"
    live = [s for s in store.all_of("paystack", "subscription") if s["status"] == "active"]
    assert len(live) == 1
