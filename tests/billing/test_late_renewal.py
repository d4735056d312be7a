"""A renewal webhook that arrives late — after a plan change — invoices the price the renewal
actually paid, not the plan the subscription is on by then."""

from __future__ import annotations

import pytest
from django.test import override_settings

from billing.models import Invoice, InvoiceLineKind
from plans.models import Price, Subscription
from sandbox import actions, store
from sandbox.emit import webhooks_redeliver
from tests.conftest import checkout_path

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "client_name,org_name,currency,price,renew",
    [
        ("usd_client", "usd_org", "USD", 5000, actions.stripe_renewal),
        ("ngn_client", "ngn_org", "NGN", 4_500_000, actions.paystack_renewal),
    ],
)
def test_a_renewal_heard_of_after_an_upgrade_is_invoiced_at_the_price_it_paid(
    request, plans, deliver, client_name, org_name, currency, price, renew
):
    client, org = request.getfixturevalue(client_name), request.getfixturevalue(org_name)
    Price.objects.create(plan=plans["enterprise"], currency=currency, interval="month", amount_minor=price)
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    sub = Subscription.objects.get(organization=org)
    assert sub.price is not None
    pro_price = sub.price.amount_minor
    with override_settings(BILLING_SANDBOX_WEBHOOK_DELIVERY="none"):  # the renewal's webhooks are delayed
        deliver(renew, sub.provider_subscription_id)
    deliver(client.post, "/billing/checkout/", {"plan": "enterprise"})
    assert Subscription.objects.get(organization=org, status="active").plan.code == "enterprise"

    deliver(webhooks_redeliver, "stripe" if currency == "USD" else "paystack")

    renewals = [
        inv
        for inv in Invoice.objects.filter(organization=org).exclude(provider_reference="")
        if inv.lines.filter(kind=InvoiceLineKind.PLAN).exists()
    ]
    assert sorted(inv.total_minor for inv in renewals) == [pro_price, pro_price], "a paid renewal was lost or mispriced"
    assert all("Pro plan" in inv.lines.get().description for inv in renewals)
    assert len(store.all_of("stripe" if currency == "USD" else "paystack", "refund")) == 0
