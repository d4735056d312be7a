"""An invoice the moment a customer pays: checkout, renewal, upgrade proration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from billing.checkout import checkout_confirm
from billing.invoices import invoice_for_payment
from billing.models import Checkout, Invoice, InvoiceStatus, Payment
from billing.period_close import invoices_close_due
from billing.providers import provider_get
from plans.models import MeterPrice, Price, Subscription
from sandbox import actions, store
from tests.billing.test_invoices import independent_total_minor
from tests.conftest import checkout_path, sandbox_webhooks, signed_in
from tests.factories import OrganizationFactory, UserFactory
from webhooks.delivery import secret_new
from webhooks.models import CustomerEvent, WebhookEndpoint

pytestmark = pytest.mark.django_db


def listen(org, monkeypatch):
    WebhookEndpoint.objects.create(
        organization=org,
        url="https://example.com/h",
        secret=secret_new(),
        event_types=["invoice.created", "invoice.paid"],
    )
    monkeypatch.setattr("webhooks.tasks.webhook_delivery_attempt.delay", lambda *a: None)  # no network here


def buy(client, deliver, plan="pro"):
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": plan})),
        {"card_number": "4242424242424242"},
    )


@pytest.mark.parametrize(
    "currency_org, currency_client, fee, shown",
    [
        ("usd_org", "usd_client", 1_000, "$10.00"),
        ("ngn_org", "ngn_client", 1_500_000, "₦15,000.00"),
    ],
)
def test_checkout_produces_a_paid_invoice_at_once(
    request, currency_org, currency_client, fee, shown, deliver, monkeypatch
):
    org, client = request.getfixturevalue(currency_org), request.getfixturevalue(currency_client)
    listen(org, monkeypatch)
    buy(client, deliver)
    sub = Subscription.objects.get(organization=org, status="active")
    checkout = Checkout.objects.get(organization=org)
    [invoice] = Invoice.objects.filter(organization=org)
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None
    assert invoice.provider_reference == checkout.reference and invoice.provider == sub.provider
    assert (invoice.period_start, invoice.period_end) == (sub.current_period_start, sub.current_period_end)
    assert [(line.kind, line.amount_minor) for line in invoice.lines.all()] == [("plan", fee)]
    assert invoice.total_minor == fee == checkout.amount_minor
    assert list(CustomerEvent.objects.values_list("type", flat=True).order_by("id")) == [
        "invoice.created",
        "invoice.paid",
    ]
    assert CustomerEvent.objects.get(type="invoice.paid").data["status"] == "paid"
    # Visible right away: list, printable page, dashboard card.
    assert invoice.number.encode() in client.get("/billing/invoices/").content
    page = client.get(f"/billing/invoices/{invoice.number}/")
    assert page.status_code == 200 and shown.encode() in page.content
    assert invoice.number.encode() in client.get("/billing/card/invoices/").content


def test_duplicate_confirmation_and_webhook_replays_make_one_invoice(ngn_client, ngn_org, client, deliver):
    buy(ngn_client, deliver)
    checkout = Checkout.objects.get(organization=ngn_org)
    provider = provider_get("paystack")
    deliver(checkout_confirm, provider=provider, reference=checkout.reference)  # double confirm
    for hook in sandbox_webhooks("paystack"):  # every webhook delivered a second time
        client.generic(
            "POST",
            hook["path"],
            hook["body"],
            content_type="application/json",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in hook["headers"].items()},
        )
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    again = invoice_for_payment(
        subscription=sub,
        provider="paystack",
        payment_reference=checkout.reference,
        start=sub.current_period_start,
        end=sub.current_period_end,
    )
    assert Invoice.objects.filter(organization=ngn_org).count() == 1 and again == Invoice.objects.get()
    # The database refuses a second invoice for the same payment whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            organization=ngn_org,
            number="TG-X-1",
            plan_name="Pro",
            currency="NGN",
            period_start=sub.current_period_start + timedelta(days=1),
            period_end=sub.current_period_end,
            provider="paystack",
            provider_reference=checkout.reference,
        )


def test_stripe_renewal_invoices_the_new_period_once(usd_client, usd_org, deliver):
    buy(usd_client, deliver)
    sub = Subscription.objects.get(organization=usd_org, status="active")
    first_end = sub.current_period_end
    deliver(actions.stripe_renewal, sub.provider_subscription_id)
    sub.refresh_from_db()
    assert sub.current_period_start == first_end
    renewal = Invoice.objects.get(organization=usd_org, period_start=first_end)
    assert renewal.status == InvoiceStatus.PAID and renewal.total_minor == 1_000
    assert renewal.provider_reference.startswith("in_")
    assert Invoice.objects.filter(organization=usd_org).count() == 2


def test_paystack_renewal_invoices_the_new_period(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    deliver(actions.paystack_renewal, sub.provider_subscription_id)
    sub.refresh_from_db()
    invoices = list(Invoice.objects.filter(organization=ngn_org).order_by("period_start"))
    assert len(invoices) == 2 and all(i.status == InvoiceStatus.PAID and i.total_minor == 1_500_000 for i in invoices)
    assert invoices[1].period_start == sub.current_period_start and invoices[1].period_start > invoices[0].period_start


def test_upgrade_proration_is_invoiced_with_the_amount_charged(usd_client, usd_org, plans, deliver):
    Price.objects.create(plan=plans["enterprise"], currency="USD", interval="month", amount_minor=5000)
    buy(usd_client, deliver)
    deliver(usd_client.post, "/billing/checkout/", {"plan": "enterprise"})
    charged = store.all_of("stripe", "charge")[-1]["amount"]
    [proration] = Invoice.objects.filter(organization=usd_org, lines__kind="proration")
    assert proration.status == InvoiceStatus.PAID and proration.total_minor == charged and 0 < charged <= 4000
    assert Invoice.objects.filter(organization=usd_org).count() == 2  # Stripe's invoice.paid made no third


def test_paystack_upgrade_proration_is_invoiced(ngn_client, ngn_org, plans, deliver):
    Price.objects.create(plan=plans["enterprise"], currency="NGN", interval="month", amount_minor=4_500_000)
    buy(ngn_client, deliver)
    deliver(ngn_client.post, "/billing/checkout/", {"plan": "enterprise"})
    [proration] = Invoice.objects.filter(organization=ngn_org, lines__kind="proration")
    payment = Payment.objects.get(organization=ngn_org, reference__contains="upgrade")
    assert proration.provider_reference == payment.reference and proration.total_minor == payment.amount_minor


def test_close_after_paid_in_advance_bills_usage_only_and_manual_subs_still_pay_the_fee(
    usd_client, usd_org, ngn_org, plans, deliver, monkeypatch
):
    buy(usd_client, deliver)
    paid_sub = Subscription.objects.get(organization=usd_org, status="active")
    manual = Subscription.objects.create(
        organization=ngn_org,
        plan=plans["pro"],
        currency="NGN",
        price=plans["pro"].prices.get(currency="NGN"),
        current_period_start=paid_sub.current_period_start,
        current_period_end=paid_sub.current_period_end,
    )
    usage = {"sms.sent": 1_250, "ai.tokens": 100_001}
    monkeypatch.setattr("billing.invoices.billable_units", lambda **kw: usage)
    closed = {
        i.organization_id: i
        for i in deliver(invoices_close_due, now=paid_sub.current_period_end + timedelta(minutes=1))
    }
    usd, ngn = closed[usd_org.pk], closed[ngn_org.pk]

    def prices(currency):
        return {
            mp.meter.code: (mp.included_units, str(mp.unit_price), None)
            for mp in MeterPrice.objects.filter(plan=plans["pro"], currency=currency).select_related("meter")
        }

    assert usd.total_minor == independent_total_minor(0, usage, prices("USD")) > 0
    assert not usd.lines.filter(kind="plan").exists()
    assert ngn.total_minor == independent_total_minor(1_500_000, usage, prices("NGN"))
    assert ngn.lines.filter(kind="plan").count() == 1 and manual.pk == ngn.subscription_id
    # Across both invoices of the paid org, the fee appears exactly once for the period.
    assert Invoice.objects.filter(organization=usd_org, lines__kind="plan").count() == 1


def test_another_org_cannot_see_the_checkout_invoice(usd_client, usd_org, deliver, client):
    buy(usd_client, deliver)
    invoice = Invoice.objects.get(organization=usd_org)
    stranger = UserFactory()
    other = OrganizationFactory(owner=stranger, currency="USD")
    client.logout()
    signed_in(client, stranger, other)
    assert client.get(f"/billing/invoices/{invoice.number}/").status_code == 404
    assert invoice.number.encode() not in client.get("/billing/invoices/").content
    assert invoice.number.encode() not in client.get("/billing/card/invoices/").content


def test_racing_confirmations_make_one_invoice_and_keep_numbers_gapless(transactional_db):
    """Two processes invoice the same payment at once: the unique constraint lets one win, the
    loser returns the winner's invoice and its number rolls back (the next invoice takes it)."""
    import threading

    from django.db import connection

    from plans.services import plans_seed_demo

    plans = {plan.code: plan for plan in plans_seed_demo()}
    org = OrganizationFactory(owner=UserFactory(), currency="NGN")
    start = datetime(2032, 1, 1, tzinfo=UTC)
    sub = Subscription.objects.create(
        organization=org,
        plan=plans["pro"],
        price=plans["pro"].prices.get(currency="NGN"),
        currency="NGN",
        provider="paystack",
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
    )
    barrier, results, errors = threading.Barrier(2), [], []

    def confirm():
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(
                    invoice_for_payment(
                        subscription=sub,
                        provider="paystack",
                        payment_reference="ref_race",
                        start=sub.current_period_start,
                        end=sub.current_period_end,
                    ).number
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(results) == 2 and results[0] == results[1] == "TG-2032-000001"
    assert Invoice.objects.filter(organization=org).count() == 1
    later = invoice_for_payment(
        subscription=sub,
        provider="paystack",
        payment_reference="ref_next",
        start=start + timedelta(days=31),
        end=start + timedelta(days=61),
    )
    assert later.number == "TG-2032-000002"  # no gap left by the losing racer


def test_paystack_charge_that_is_not_the_plan_price_is_not_invoiced_as_renewal(ngn_client, ngn_org, deliver):
    buy(ngn_client, deliver)
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    remote = store.get("paystack", "subscription", sub.provider_subscription_id)
    remote["amount"] = 100  # ₦1 charged: not what the Pro plan costs
    store.put("paystack", "subscription", sub.provider_subscription_id, remote)
    deliver(actions.paystack_renewal, sub.provider_subscription_id)
    assert Invoice.objects.filter(organization=ngn_org).count() == 1  # only the checkout's
    assert Payment.objects.filter(organization=ngn_org, amount_minor=100).exists()
