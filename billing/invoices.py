"""Invoices: one the moment a customer pays (plan fee in advance, proration), and one per
organization and closed billing period for the metered usage (from the usage ledger).

Money rule: quantities are integers, unit prices ``Decimal`` in major units; each line's
amount is computed exactly and rounded ONCE, to minor units, with ``ROUNDING``
(ROUND_HALF_EVEN, "banker's rounding"). The invoice total is the sum of the rounded lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceLineKind, InvoiceStatus
from plans.models import MeterPrice, Price, Subscription
from portal.money import minor_exponent, to_minor
from usage.selectors import billable_units_by_meter
from webhooks.events import customer_event_emit

log = logging.getLogger("billing.invoices")


@dataclass(frozen=True)
class Segment:
    quantity: int
    unit_price: Decimal  # major units
    label: str


def meter_segments(*, units: int, meter_price: MeterPrice) -> list[Segment]:
    """Split ``units`` into billable segments: included units are free, then either one flat
    price or graduated tiers (``up_to`` counts billable units after the included ones)."""
    billable = max(0, units - meter_price.included_units)
    if billable == 0:
        return []
    if not meter_price.tiers:
        return [Segment(billable, Decimal(meter_price.unit_price), "")]
    segments, floor = [], 0
    for tier in meter_price.tiers:
        up_to = tier.get("up_to")
        ceiling = billable if up_to is None else min(billable, int(up_to))
        if ceiling > floor:
            label = f"units {floor + 1:,}–{ceiling:,}" if up_to is not None else f"units above {floor:,}"
            segments.append(Segment(ceiling - floor, Decimal(str(tier["unit_price"])), label))
            floor = ceiling
        if floor >= billable:
            break
    return segments


def billable_units(*, org_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Units per meter from the usage ledger (usage's selector is the single source)."""
    return billable_units_by_meter(org_id=org_id, start=start, end=end)


def invoice_number_next(*, year: int) -> str:
    """Gapless per deployment: the counter row is locked until the invoice's transaction
    commits, and rolls back with it."""
    InvoiceCounter.objects.get_or_create(year=year)
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{settings.BILLING_INVOICE_PREFIX}-{year}-{counter.last:06d}"


def _plan_line(
    *, subscription: Subscription, start: datetime, end: datetime, price: Price | None = None
) -> InvoiceLine | None:
    """The plan fee for one period (integer minor units already: nothing to round), at
    ``price`` when the payment was for another price than the subscription's current one."""
    price = price or subscription.price
    if not (price and price.amount_minor):
        return None
    currency = subscription.currency.upper()
    return InvoiceLine(
        kind=InvoiceLineKind.PLAN,
        description=f"{price.plan.name} plan, {start:%d %b} – {end:%d %b %Y}",
        quantity=1,
        unit_price=Decimal(price.amount_minor).scaleb(-minor_exponent(currency)),
        amount_minor=price.amount_minor,
    )


def plan_fee_invoiced(*, subscription: Subscription, start: datetime, end: datetime) -> bool:
    """Was the fee for this period already invoiced when it was paid? An advance invoice counts
    when it covers the period's midpoint: a provider may shift the period by seconds after the
    payment (Paystack creates the subscription after the first charge)."""
    middle = start + (end - start) / 2
    return (
        Invoice.objects.filter(
            subscription=subscription, period_start__lte=middle, period_end__gt=middle, lines__kind=InvoiceLineKind.PLAN
        )
        .exclude(provider_reference="")
        .exists()
    )


def _invoice_create(
    *,
    subscription: Subscription,
    start: datetime,
    end: datetime,
    lines: list[InvoiceLine],
    payment_reference: str = "",
    provider: str | None = None,
) -> Invoice:
    invoice = Invoice.objects.create(
        organization_id=subscription.organization_id,
        subscription=subscription,
        number=invoice_number_next(year=start.year),
        plan_name=subscription.plan.name,
        currency=subscription.currency.upper(),
        period_start=start,
        period_end=end,
        total_minor=sum(line.amount_minor for line in lines),
        provider=subscription.provider if provider is None else provider,
        provider_reference=payment_reference,
    )
    for position, line in enumerate(lines):
        line.invoice, line.position = invoice, position
    InvoiceLine.objects.bulk_create(lines)
    customer_event_emit(org_id=invoice.organization_id, type="invoice.created", data=invoice_payload(invoice))
    return invoice


@transaction.atomic
def invoice_for_payment(
    *,
    subscription: Subscription,
    provider: str,
    payment_reference: str,
    start: datetime,
    end: datetime,
    proration_minor: int | None = None,
    description: str = "",
    price: Price | None = None,
) -> Invoice | None:
    """Invoice a payment the moment it is confirmed: the plan fee for the period it pays for
    (checkout, renewal; at ``price`` when the payment was for another price than the current
    one, e.g. a renewal heard of after a plan change) or, with ``proration_minor``, the
    prorated upgrade charge. Issued paid.

    Idempotent: one invoice per (provider, payment reference) — a unique constraint, so a
    duplicate webhook or a racing confirmation finds the first one — and one advance plan-fee
    invoice per subscription period (Stripe's own invoice.paid for a checkout we invoiced)."""
    existing = Invoice.objects.filter(provider=provider, provider_reference=payment_reference).first()
    if existing:
        return existing
    if proration_minor is None:
        if plan_fee_invoiced(subscription=subscription, start=start, end=end):
            return None
        line = _plan_line(subscription=subscription, start=start, end=end, price=price)
        if line is None:
            return None
        lines = [line]
    else:
        if proration_minor <= 0:
            return None
        lines = [
            InvoiceLine(
                kind=InvoiceLineKind.PRORATION,
                description=description,
                quantity=1,
                unit_price=Decimal(proration_minor).scaleb(-minor_exponent(subscription.currency)),
                amount_minor=proration_minor,
            )
        ]
    try:
        with transaction.atomic():  # the number taken rolls back with a losing duplicate: still gapless
            invoice = _invoice_create(
                subscription=subscription,
                start=start,
                end=end,
                lines=lines,
                payment_reference=payment_reference,
                provider=provider,
            )
    except IntegrityError:
        return Invoice.objects.get(provider=provider, provider_reference=payment_reference)
    return invoice_mark_paid(invoice=invoice)


@transaction.atomic
def invoice_build(
    *, subscription: Subscription, start: datetime, end: datetime, units_by_meter: dict[str, int] | None = None
) -> Invoice:
    """Create the period-close invoice for one subscription period (idempotent per org and
    period start): metered usage and overage, plus the plan fee only when it was not already
    invoiced in advance (manual/enterprise subscriptions, or a payment we never saw)."""
    existing = Invoice.objects.filter(
        organization_id=subscription.organization_id, period_start=start, provider_reference=""
    ).first()
    if existing:
        return existing
    currency = subscription.currency.upper()
    units = (
        billable_units(org_id=subscription.organization_id, start=start, end=end)
        if units_by_meter is None
        else units_by_meter
    )
    lines: list[InvoiceLine] = []
    if not plan_fee_invoiced(subscription=subscription, start=start, end=end):
        plan_line = _plan_line(subscription=subscription, start=start, end=end)
        if plan_line is not None:
            lines.append(plan_line)
    meter_prices = (
        MeterPrice.objects.select_related("meter")
        .filter(plan=subscription.plan, currency=currency)
        .order_by("meter__code")
    )
    for meter_price in meter_prices:
        used = int(units.get(meter_price.meter.code, 0))
        for segment in meter_segments(units=used, meter_price=meter_price):
            kind = InvoiceLineKind.OVERAGE if meter_price.included_units else InvoiceLineKind.USAGE
            description = f"{meter_price.meter.name}: {used:,} {meter_price.meter.unit_label}"
            if meter_price.included_units:
                description += f" ({meter_price.included_units:,} included)"
            if segment.label:
                description += f", {segment.label}"
            lines.append(
                InvoiceLine(
                    kind=kind,
                    description=description,
                    meter_code=meter_price.meter.code,
                    quantity=segment.quantity,
                    included_units=meter_price.included_units,
                    unit_price=segment.unit_price,
                    amount_minor=to_minor(segment.unit_price * segment.quantity, currency),
                )
            )
    return _invoice_create(subscription=subscription, start=start, end=end, lines=lines)


def invoice_payload(invoice: Invoice) -> dict:
    return {
        "number": invoice.number,
        "currency": invoice.currency,
        "total_minor": invoice.total_minor,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "status": invoice.status,
    }


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.OPEN:
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, timezone.now()
        invoice.save(update_fields=["status", "paid_at"])
        customer_event_emit(org_id=invoice.organization_id, type="invoice.paid", data=invoice_payload(invoice))
    return invoice


def invoices_settle(*, subscription: Subscription, before: datetime) -> int:
    """Mark the subscription's open invoices for periods ended before ``before`` as paid."""
    open_invoices = Invoice.objects.filter(
        subscription=subscription, status=InvoiceStatus.OPEN, period_end__lte=before, provider_reference=""
    )
    return len([invoice_mark_paid(invoice=invoice) for invoice in open_invoices])
