"""Period close: invoice lines, one rounding rule, gapless numbers, collection, portal pages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection

from billing.invoices import invoice_build, invoice_number_next, meter_segments
from billing.models import Invoice, InvoiceStatus
from billing.period_close import invoices_close_due
from plans.models import MeterPrice, Subscription
from portal.money import to_minor
from sandbox import store
from tests.conftest import checkout_path
from webhooks.delivery import secret_new
from webhooks.models import CustomerEvent, WebhookEndpoint

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def independent_total_minor(plan_fee_minor: int, usage: dict[str, int], prices: dict[str, tuple], exponent=2) -> int:
    """Re-derive the invoice with exact fractions and Python's round() (half to even), line by line."""
    total = plan_fee_minor
    for code, (included, unit_price, tiers) in prices.items():
        billable = max(0, usage.get(code, 0) - included)
        if not tiers:
            total += round(Fraction(unit_price) * billable * 10**exponent)
            continue
        floor = 0
        for up_to, price in tiers:
            ceiling = billable if up_to is None else min(billable, up_to)
            if ceiling > floor:
                total += round(Fraction(price) * (ceiling - floor) * 10**exponent)
                floor = ceiling
    return total


def make_subscription(org, plans, currency="NGN", provider=""):
    price = plans["pro"].prices.get(currency=currency)
    return Subscription.objects.create(
        organization=org,
        plan=plans["pro"],
        price=price,
        currency=currency,
        current_period_start=START,
        current_period_end=END,
        provider=provider,
    )


def test_month_of_mixed_usage_matches_independent_calculation(ngn_org, plans):
    tokens = MeterPrice.objects.get(plan=plans["pro"], meter__code="ai.tokens", currency="NGN")
    tokens.tiers = [{"up_to": 50_000, "unit_price": "0.003"}, {"up_to": None, "unit_price": "0.0025"}]
    tokens.save()
    sub = make_subscription(ngn_org, plans)
    usage = {"sms.sent": 13_457, "delivery.status_check": 4_999, "ai.tokens": 187_333}
    invoice = invoice_build(subscription=sub, start=START, end=END, units_by_meter=usage)

    expected = independent_total_minor(
        1_500_000,
        usage,
        {
            "sms.sent": (1_000, "5", None),
            "delivery.status_check": (5_000, "10", None),  # under the allowance: nothing
            "ai.tokens": (100_000, None, [(50_000, "0.003"), (None, "0.0025")]),
        },
    )
    assert invoice.total_minor == expected == sum(line.amount_minor for line in invoice.lines.all())
    lines = {(line.kind, line.meter_code, line.quantity): line.amount_minor for line in invoice.lines.all()}
    assert lines[("plan", "", 1)] == 1_500_000
    assert lines[("overage", "sms.sent", 12_457)] == 6_228_500  # 12,457 × ₦5
    assert lines[("overage", "ai.tokens", 50_000)] == 15_000  # 50,000 × ₦0.003
    assert lines[("overage", "ai.tokens", 37_333)] == 9_333  # 37,333 × ₦0.0025 = ₦93.3325 → 9,333 kobo
    assert not any(code == "delivery.status_check" for _, code, _ in lines)
    assert invoice.currency == "NGN" and invoice.number.startswith("TG-2026-")


def test_usd_sub_cent_prices_round_once_per_line_half_even(usd_org, plans):
    sub = make_subscription(usd_org, plans, currency="USD")
    usage = {"ai.tokens": 100_000 + 1_125, "sms.sent": 1_000 + 625}  # $2.25 and $2.50 exactly; then halves
    invoice = invoice_build(subscription=sub, start=START, end=END, units_by_meter=usage)
    expected = independent_total_minor(
        1_000, usage, {"ai.tokens": (100_000, "0.002", None), "sms.sent": (1_000, "0.004", None)}
    )
    assert invoice.total_minor == expected
    # Half-even at the line: 0.5 cent rounds to 0, 1.5 cents to 2, 2.5 cents to 2.
    assert [to_minor(Decimal(v), "USD") for v in ("0.005", "0.015", "0.025")] == [0, 2, 2]


def test_tiers_split_billable_units():
    price = MeterPrice(
        included_units=10,
        unit_price=Decimal("1"),
        tiers=[{"up_to": 5, "unit_price": "2"}, {"up_to": 20, "unit_price": "1.5"}, {"up_to": None, "unit_price": "1"}],
    )
    assert [(s.quantity, s.unit_price) for s in meter_segments(units=40, meter_price=price)] == [
        (5, Decimal("2")),
        (15, Decimal("1.5")),
        (10, Decimal("1")),
    ]
    assert meter_segments(units=10, meter_price=price) == []


def test_invoice_numbers_are_gapless_and_unique_under_concurrency(transactional_db):
    numbers, errors = [], []

    def take():
        from django.db import transaction

        try:
            with transaction.atomic():
                numbers.append(invoice_number_next(year=2031))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sorted(numbers) == [f"TG-2031-{i:06d}" for i in range(1, 9)]


def test_invoice_build_is_idempotent_per_period(ngn_org, plans):
    sub = make_subscription(ngn_org, plans)
    first = invoice_build(subscription=sub, start=START, end=END, units_by_meter={})
    assert invoice_build(subscription=sub, start=START, end=END, units_by_meter={"sms.sent": 99_999}) == first
    assert Invoice.objects.count() == 1


def test_period_close_charges_paystack_usage_and_emits_events(ngn_client, ngn_org, plans, deliver, monkeypatch):
    deliver(
        ngn_client.post,
        checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    [prepaid] = Invoice.objects.filter(organization=ngn_org)  # the plan fee, invoiced when it was paid
    WebhookEndpoint.objects.create(
        organization=ngn_org,
        url="https://example.com/h",
        secret=secret_new(),
        event_types=["invoice.created", "invoice.paid"],
    )
    sub = Subscription.objects.get(organization=ngn_org, status="active")
    usage = {"sms.sent": 1_010}
    monkeypatch.setattr("billing.invoices.billable_units", lambda **kw: usage)
    monkeypatch.setattr("webhooks.tasks.webhook_delivery_attempt.delay", lambda *a: None)  # no network here
    [invoice] = deliver(invoices_close_due, now=sub.current_period_end + timedelta(minutes=1))
    # The close bills the usage only: the ₦15,000 fee for this period is on the prepaid invoice.
    expected = independent_total_minor(0, usage, {"sms.sent": (1_000, "5", None)})
    assert invoice.status == InvoiceStatus.PAID and invoice.total_minor == expected == 5_000
    assert not invoice.lines.filter(kind="plan").exists() and invoice.number != prepaid.number
    usage_charge = store.get("paystack", "transaction", f"tg-{invoice.number}")
    assert usage_charge["amount"] == 5_000 and usage_charge["status"] == "success"
    assert list(CustomerEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "invoice.created",
        "invoice.paid",
    ]
    # An hour later the provider has not advanced the period yet: nothing is built or charged twice.
    assert deliver(invoices_close_due, now=sub.current_period_end + timedelta(hours=1)) == []
    assert CustomerEvent.objects.count() == 2 and Invoice.objects.count() == 2


def test_period_close_reports_stripe_meter_usage_once(usd_client, usd_org, plans, deliver, monkeypatch):
    deliver(
        usd_client.post,
        checkout_path(usd_client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    sub = Subscription.objects.get(organization=usd_org, status="active")
    monkeypatch.setattr("billing.invoices.billable_units", lambda **kw: {"ai.tokens": 100_500})
    [invoice] = deliver(invoices_close_due, now=sub.current_period_end + timedelta(minutes=1))
    from billing.period_close import invoice_collect

    deliver(invoice_collect, invoice=invoice)  # reporting again must not double count
    events = store.all_of("stripe", "billing.meter_event")
    assert len(events) == 1 and events[0]["payload"]["value"] == "500" and events[0]["event_name"] == "ai_tokens"
    invoice.refresh_from_db()
    # Usage only ($0.002 × 500): the $10 fee was invoiced (paid) at checkout.
    assert (
        invoice.status == InvoiceStatus.OPEN
        and invoice.total_minor
        == independent_total_minor(0, {"ai.tokens": 100_500}, {"ai.tokens": (100_000, "0.002", None)})
        == 100
    )
    # Stripe's next cycle invoice (carrying the metered units) is paid → our statement is settled.
    from sandbox import actions

    deliver(actions.stripe_renewal, sub.provider_subscription_id)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_invoice_pages_and_card(member_client, org, plans):
    org.currency = "NGN"
    org.save()
    sub = make_subscription(org, plans)
    invoice = invoice_build(subscription=sub, start=START, end=END, units_by_meter={"sms.sent": 2_000})
    assert invoice.number.encode() in member_client.get("/billing/invoices/").content
    page = member_client.get(f"/billing/invoices/{invoice.number}/")
    assert page.status_code == 200 and b"billing-print.css" in page.content and "₦20,000.00".encode() in page.content
    assert invoice.number.encode() in member_client.get("/billing/card/invoices/").content


def test_other_org_cannot_see_invoice(member_client, other_org, plans):
    sub = make_subscription(other_org, plans)
    invoice = invoice_build(subscription=sub, start=START, end=END, units_by_meter={})
    assert member_client.get(f"/billing/invoices/{invoice.number}/").status_code == 404
    assert invoice.number.encode() not in member_client.get("/billing/invoices/").content


def test_invoice_from_the_real_usage_pipeline_equals_the_ledger(ngn_org, plans, redis_client, deliver):
    """A month of mixed traffic goes through the hot-path stream and usage's consumer; the
    closed invoice's units equal the CSV ledger's billable units, meter by meter, to the unit."""
    import random

    from tests.usage.conftest import ingest, make_event
    from usage.selectors import usage_ledger

    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(days=30), now - timedelta(minutes=5)
    Subscription.objects.create(
        organization=ngn_org,
        plan=plans["pro"],
        currency="NGN",
        price=plans["pro"].prices.get(currency="NGN"),
        current_period_start=start,
        current_period_end=end,
    )
    rng = random.Random(5)
    events = []
    for _ in range(900):
        meter = rng.choice(["sms.sent", "delivery.status_check", "ai.tokens"])
        units = rng.randint(1, 400) if meter == "ai.tokens" else rng.randint(1, 12)
        events.append(
            make_event(
                ngn_org.pk,
                at=start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds()) - 1)),
                meter=meter,
                units=units,
                status=rng.choice([200, 200, 200, 201, 429, 503]),
                mode=rng.choice(["live", "live", "live", "test"]),
            )
        )
    # Just outside the period on both sides: never billed.
    events.append(make_event(ngn_org.pk, at=start - timedelta(seconds=1), meter="sms.sent", units=999))
    events.append(make_event(ngn_org.pk, at=end, meter="sms.sent", units=999))
    ingest(redis_client, events)

    [invoice] = deliver(invoices_close_due, now=now)
    ledger: dict[str, int] = {}
    for row in usage_ledger(org_id=ngn_org.pk, start=start, end=end):
        ledger[row[8]] = ledger.get(row[8], 0) + row[10]  # meter, billable_units
    assert sum(ledger.values()) > 0
    billed: dict[str, int] = {}
    for line in invoice.lines.exclude(kind="plan"):
        billed[line.meter_code] = billed.get(line.meter_code, 0) + line.quantity
    prices = {
        mp.meter.code: mp for mp in MeterPrice.objects.filter(plan=plans["pro"], currency="NGN").select_related("meter")
    }
    for code, units in ledger.items():
        assert billed.get(code, 0) == max(0, units - prices[code].included_units), code
    assert any(billed.values()), "the fixture should exceed an allowance somewhere"
    expected = independent_total_minor(
        1_500_000, ledger, {code: (mp.included_units, str(mp.unit_price), None) for code, mp in prices.items()}
    )
    assert invoice.total_minor == expected
