"""Payment providers failing under us: the sandbox transports inject timeouts and 5xx (before
and after a request applies) into checkouts, renewals, upgrades, refunds and cancellations,
for Paystack and Stripe. Afterwards the providers' books and ours must agree: every charge is
either granted (invoiced) or refunded, nothing is charged, refunded or subscribed twice.

Webhook deliveries our endpoint answered 5xx are replayed the way the providers retry them,
and the compensation journal runs as its beat task would a while later.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from billing.compensations import compensations_run_due
from billing.models import Checkout, CheckoutStatus
from plans.models import LIVE_STATUSES, Price, Subscription
from sandbox import actions
from sandbox.emit import webhooks_redeliver
from sandbox.faults import fault_inject, sandbox_counters
from sandbox.models import SandboxObject
from tests.conftest import signed_in
from tests.factories import OrganizationFactory
from tests.faults._billing import hard_time_limit, provider_audit

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
CARD = {"card_number": "4242424242424242"}
BUDGET_SECONDS = 60


class Run:
    """The customer's side: each operation is retried by the customer a few times, as people
    do when a page says "try again"; ``ok``/``attempted`` count operations."""

    def __init__(self, deliver):
        self.deliver, self.ok, self.attempted = deliver, 0, 0

    def start_checkout(self, client, plan="pro", tries=3) -> str:
        self.attempted += 1
        for _ in range(tries):
            response = self.deliver(client.post, "/billing/checkout/", {"plan": plan})
            if "/sandbox/checkout/" in response.get("Location", ""):
                self.ok += 1
                return response["Location"].split("testserver", 1)[-1].split("8000", 1)[-1]
        raise AssertionError(f"checkout for {plan} never started")

    def pay(self, client, page) -> None:
        self.attempted += 1
        response = self.deliver(client.post, page, CARD)
        assert response.status_code == 302, response.content[:300]
        back = response["Location"].split("8000", 1)[-1]
        if "/billing/checkout/return/" in back:
            self.deliver(client.get, back)
        self.ok += 1

    def step(self, fn, *args, **kwargs):
        self.attempted += 1
        result = self.deliver(fn, *args, **kwargs)
        self.ok += 1
        return result


def _org_client(user, currency):
    org = OrganizationFactory(owner=user, currency=currency, billing_email=f"second-{currency.lower()}@example.com")
    return org, signed_in(Client(), user, org)


def _live(org) -> Subscription:
    return Subscription.objects.get(organization=org, status__in=LIVE_STATUSES)


def test_provider_timeouts_and_5xx_never_double_charge_or_lose_a_grant(plans, user, ngn_org, usd_org, deliver):
    ngn_client, usd_client = signed_in(Client(), user, ngn_org), signed_in(Client(), user, usd_org)
    for currency, amount in (("NGN", 4_500_000), ("USD", 5000)):
        Price.objects.create(plan=plans["enterprise"], currency=currency, interval="month", amount_minor=amount)
    run, started = Run(deliver), time.monotonic()
    with hard_time_limit(BUDGET_SECONDS):
        # --- Paystack: checkout (plan create and initialize lose answers; webhook handler sees 503s)
        fault_inject("paystack", "POST", "/plan", "timeout_after")
        fault_inject("paystack", "POST", "/transaction/initialize", "503_before")
        page = run.start_checkout(ngn_client)
        fault_inject("paystack", "GET", r"/transaction/verify/.+", "503_before", times=3)  # charge.success → 503
        run.pay(ngn_client, page)
        # --- renewal whose webhook fails first (subscription fetch down), then the provider retries
        code = _live(ngn_org).provider_subscription_id
        fault_inject("paystack", "GET", rf"/subscription/{code}", "503_before", times=3)
        run.step(actions.paystack_renewal, code)
        # --- upgrade: the charge, the new subscription and disabling the old one all lose answers
        fault_inject("paystack", "POST", "/transaction/charge_authorization", "timeout_after")
        fault_inject("paystack", "POST", "/subscription", "timeout_after")
        fault_inject("paystack", "POST", "/subscription/disable", "503_after")
        run.step(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
        assert _live(ngn_org).plan.code == "enterprise"
        # --- cancel from our page: Paystack applies it and answers 503
        fault_inject("paystack", "POST", "/subscription/disable", "503_after")
        run.step(ngn_client.post, "/billing/cancel/")
        # --- two checkouts paid by a second organization: the refund's answer is lost, the
        # stray subscription's disable is refused once
        org2, client2 = _org_client(user, "NGN")
        first, second = run.start_checkout(client2), run.start_checkout(client2)
        run.pay(client2, second)
        fault_inject("paystack", "POST", "/refund", "timeout_after")
        fault_inject("paystack", "POST", "/subscription/disable", "503_before")
        run.pay(client2, first)

        # --- Stripe: the session create loses its answer (the SDK retries with its idempotency key)
        fault_inject("stripe", "POST", "/v1/checkout/sessions", "timeout_after")
        fault_inject("stripe", "GET", r"/v1/checkout/sessions/.+", "503_before")
        run.pay(usd_client, run.start_checkout(usd_client))
        sub_id = _live(usd_org).provider_subscription_id
        fault_inject("stripe", "GET", rf"/v1/subscriptions/{sub_id}", "503_before", times=3)  # invoice.paid → 503
        run.step(actions.stripe_renewal, sub_id)
        fault_inject("stripe", "POST", rf"/v1/subscriptions/{sub_id}", "timeout_after")  # the proration charge
        run.step(usd_client.post, "/billing/checkout/", {"plan": "enterprise"})
        assert _live(usd_org).plan.code == "enterprise"
        # --- both checkouts of another organization paid in a race: refund and cancel under faults
        org3, client3 = _org_client(user, "USD")
        first, second = run.start_checkout(client3), run.start_checkout(client3)
        ref_first = first.rstrip("/").rsplit("/", 1)[1]
        session = SandboxObject.objects.get(provider="stripe", kind="checkout.session", object_id=ref_first)
        session.data["status"] = "open"  # paid in the instant before it was expired
        session.save()
        with override_settings(BILLING_SANDBOX_WEBHOOK_DELIVERY="none"):  # both paid before we hear of either
            for page in (first, second):
                run.step(actions.stripe_complete_checkout, page.rstrip("/").rsplit("/", 1)[1], CARD["card_number"])
        fault_inject("stripe", "POST", "/v1/refunds", "timeout_after")
        fault_inject("stripe", "DELETE", r"/v1/subscriptions/.+", "503_before")

        # --- later: the providers retry failed deliveries, the journal settles what is owed
        redelivered = sum(deliver(webhooks_redeliver, provider) for provider in ("paystack", "stripe"))
        assert sum(deliver(webhooks_redeliver, provider) for provider in ("paystack", "stripe")) == 0
        deliver(compensations_run_due, now=timezone.now() + timedelta(hours=2))

    audit = provider_audit()
    counters = sandbox_counters()
    faults = counters.get("paystack:faults", 0) + counters.get("stripe:faults", 0)
    requests = counters.get("paystack:requests", 0) + counters.get("stripe:requests", 0)
    hooks = SandboxObject.objects.filter(kind="webhook")
    hooks_2xx = sum(1 for h in hooks if 200 <= h.data.get("delivered_status", 0) < 300)
    summary = (
        f"FAULT provider_faults: faults={faults} requests={requests} served_2xx={run.ok}/{run.attempted} "
        f"stored={audit.stored}/{audit.charges} lost={len(audit.lost)} duplicated={len(audit.duplicated)}"
    )
    detail = (
        f"FAULT provider_faults detail: refunds={audit.refunds} webhooks_2xx={hooks_2xx}/{hooks.count()} "
        f"redelivered={redelivered} seconds={time.monotonic() - started:.1f}"
    )
    # The summary lines are this test's report (pytest -s shows them; docs/reliability.md quotes them).
    print(f"\n{summary}\n{detail}")  # noqa: T201
    assert audit.lost == [] and audit.duplicated == [], (audit.lost, audit.duplicated)
    assert audit.stored == audit.charges and run.ok == run.attempted
    assert faults == counters.get("paystack:faults", 0) + counters.get("stripe:faults", 0) >= 15
    assert Checkout.objects.filter(organization=org2, status=CheckoutStatus.REFUNDED).count() == 1
    assert Checkout.objects.filter(organization=org3, status=CheckoutStatus.REFUNDED).count() == 1
    assert _live(ngn_org).cancel_at_period_end
