"""Closing billing periods: the beat task that builds each live subscription's usage invoice
for its finished period, and collecting it (Stripe meter events, or a charge to Paystack's
saved card). Invoice building and the money rule live in ``billing.invoices``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.selectors import billing_contact_email
from billing.invoices import invoice_build, invoice_mark_paid
from billing.models import Invoice, InvoiceLineKind, InvoiceStatus
from billing.profiles import profile_for
from billing.providers import provider_get
from billing.providers.base import ProviderError
from plans.models import LIVE_STATUSES, Meter, Subscription
from webhooks.events import customer_event_emit

log = logging.getLogger("billing.invoices")


def invoice_collect(*, invoice: Invoice) -> Invoice:
    """Collect what the provider's subscription does not: Stripe gets the metered units as
    meter events (deterministic identifiers); Paystack usage is charged to the saved card."""
    if invoice.status != InvoiceStatus.OPEN:
        return invoice
    usage_minor = sum(line.amount_minor for line in invoice.lines.all() if line.kind != InvoiceLineKind.PLAN)
    if not invoice.provider:
        return invoice_mark_paid(invoice=invoice) if invoice.total_minor == 0 else invoice
    provider = provider_get(invoice.provider)
    sub = invoice.subscription
    if invoice.provider == "stripe":
        events = {m.code: m.stripe_event_name for m in Meter.objects.exclude(stripe_event_name="")}
        totals: dict[str, int] = {}
        for line in invoice.lines.all():
            if line.meter_code:
                totals[line.meter_code] = totals.get(line.meter_code, 0) + line.quantity
        for code, quantity in totals.items():
            if code in events and sub and sub.provider_customer_id:
                provider.report_usage(
                    customer_id=sub.provider_customer_id,
                    event_name=events[code],
                    value=quantity,
                    identifier=f"tg-{invoice.organization_id}-{code}-{invoice.period_start:%Y%m%d}",
                    timestamp=invoice.period_end - timedelta(seconds=1),
                )
        return invoice_mark_paid(invoice=invoice) if usage_minor == 0 else invoice
    profile = profile_for(invoice.organization)
    if usage_minor == 0:
        return invoice_mark_paid(invoice=invoice)
    if not profile.paystack_authorization_code:
        return invoice
    try:
        provider.charge_usage(
            customer_email=billing_contact_email(org=invoice.organization),
            authorization_code=profile.paystack_authorization_code,
            amount_minor=usage_minor,
            currency=invoice.currency,
            reference=f"tg-{invoice.number}",
        )
    except ProviderError as exc:
        log.warning("usage charge for %s failed: %s", invoice.number, exc)
        customer_event_emit(
            org_id=invoice.organization_id,
            type="payment.failed",
            data={"invoice": invoice.number, "reason": exc.detail},
        )
        return invoice
    return invoice_mark_paid(invoice=invoice)


def subscriptions_due_for_close(*, now: datetime | None = None) -> list[int]:
    """The live subscriptions whose current period has ended (one close task each)."""
    due = Subscription.objects.filter(status__in=LIVE_STATUSES, current_period_end__lte=now or timezone.now())
    return list(due.order_by("pk").values_list("pk", flat=True))


def invoices_close_due(*, now: datetime | None = None) -> list[Invoice]:
    """Close every live subscription's finished period, one after the other (the beat task
    fans out over ``subscriptions_due_for_close`` instead)."""
    now = now or timezone.now()
    closed = (invoice_close_period(subscription_id=pk, now=now) for pk in subscriptions_due_for_close(now=now))
    return [invoice for invoice in closed if invoice is not None]


def invoice_close_period(*, subscription_id: int, now: datetime | None = None) -> Invoice | None:
    """Build and collect the invoice of one subscription's finished period; None when it is not
    (or no longer) due, or was closed and collected already."""
    now = now or timezone.now()
    sub = (
        Subscription.objects.select_related("plan", "price", "organization")
        .filter(pk=subscription_id, status__in=LIVE_STATUSES, current_period_end__lte=now)
        .first()
    )
    if sub is None:
        return None
    start, end = sub.current_period_start, sub.current_period_end
    # The provider advances its subscriptions' periods by webhook; until it does, later runs
    # find this period closed already. A collected (paid/void) close is not collected again;
    # one still OPEN (collection failed or was declined) is retried — collection is
    # idempotent (reference tg-<number>, deterministic Stripe meter-event identifiers).
    already_closed = (
        Invoice.objects.filter(organization_id=sub.organization_id, period_start=start, provider_reference="")
        .exclude(status=InvoiceStatus.OPEN)
        .exists()
    )
    invoice = invoice_build(subscription=sub, start=start, end=end)
    if not sub.provider:  # manual/PAYG subscriptions: we own the period
        Subscription.objects.filter(pk=sub.pk, current_period_end=end).update(
            current_period_start=end, current_period_end=end + (end - start)
        )
    if already_closed:
        return None
    try:
        invoice = invoice_collect(invoice=invoice)
    except Exception:  # collection is retried by the provider / next run; the invoice stands
        log.exception("collecting %s failed", invoice.number)
    return invoice
