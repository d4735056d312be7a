"""Provider webhooks in: store raw → verify → claim (dedupe) → re-fetch → apply.

The body is a trigger, never evidence: each handler re-reads the object from the provider
and the services change state only from allowed states, so duplicates and out-of-order
deliveries converge on the provider's current truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from billing.checkout import PaymentNotConfirmed, checkout_confirm
from billing.invoices import invoice_for_payment, invoices_settle
from billing.models import BillingProfile, Checkout, EventStatus, Payment, ProviderEvent
from billing.payments import payment_record
from billing.providers.base import ParsedEvent, PaymentProvider, ProviderUnavailable, SignatureInvalid
from billing.subscriptions import subscription_sync
from plans.models import LIVE_STATUSES, Subscription
from portal.problems import Problem

log = logging.getLogger("billing.webhooks")

KEPT_HEADERS = ("content-type", "user-agent", "stripe-signature", "x-paystack-signature", "x-forwarded-for")


@dataclass
class Outcome:
    http_status: int
    event: ProviderEvent


class Ignored(Exception):
    """The event is valid but needs nothing from us (200, status IGNORED)."""


def webhook_receive(*, provider: PaymentProvider, body: bytes, headers: dict[str, str]) -> Outcome:
    row = ProviderEvent.objects.create(  # autocommit: the raw delivery survives whatever happens next
        provider=provider.name, body=body.decode("utf-8", errors="replace"),
        headers={k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
    )
    try:
        event = provider.verify_and_parse_webhook(body=body, headers=headers)
    except SignatureInvalid as exc:
        _finish(row, EventStatus.REJECTED, str(exc))
        return Outcome(400, row)
    row.event_type = event.type
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row.event_id = event.id
                    row.save(update_fields=["event_id", "event_type"])  # claims (provider, event_id) or fails
            except IntegrityError:
                # Another delivery of the same event got here first (or is processing it right
                # now: the unique index made us wait for its commit).
                row.event_id = None
                _finish(row, EventStatus.DUPLICATE, f"already received as {event.id}")
                return Outcome(200, row)
            try:
                with transaction.atomic():
                    HANDLERS[provider.name].get(event.type, _ignore)(provider, event)
                status, error = EventStatus.PROCESSED, ""
            except Ignored as exc:
                status, error = EventStatus.IGNORED, str(exc)
            except (ProviderUnavailable, OperationalError, IntegrityError):
                raise  # transient (or a concurrent writer): roll back the claim so the retry is processed
            except Problem as exc:  # permanent: a retry cannot help (mismatch, not paid, refused)
                status, error = EventStatus.FAILED, f"{exc.title}: {exc.detail}"
                log.warning("webhook %s %s failed: %s", provider.name, event.id, error)
            row.status, row.error, row.processed_at = status, error, timezone.now()
            row.save(update_fields=["status", "error", "processed_at"])
        return Outcome(200, row)
    except (ProviderUnavailable, OperationalError, IntegrityError) as exc:
        log.warning("webhook %s %s transient failure: %s", provider.name, event.id, exc)
        row.event_id = None
        _finish(row, EventStatus.FAILED, f"transient: {type(exc).__name__}: {exc}")
        return Outcome(503, row)


def _finish(row: ProviderEvent, status: str, error: str) -> None:
    row.status, row.error, row.processed_at = status, error[:2000], timezone.now()
    row.save(update_fields=["status", "error", "processed_at", "event_id", "event_type"])


def _ignore(provider, event: ParsedEvent) -> None:
    raise Ignored(f"{event.type} needs no action")


# --- Stripe ---------------------------------------------------------------------------------
def _stripe_org_id(customer_id: str) -> int | None:
    return BillingProfile.objects.filter(stripe_customer_id=customer_id).values_list("organization_id", flat=True).first()


def stripe_checkout_completed(provider, event):
    if not Checkout.objects.filter(provider="stripe", reference=event.object["id"]).exists():
        raise Ignored("not a Tollgate checkout")
    checkout_confirm(provider=provider, reference=event.object["id"])


def stripe_subscription_changed(provider, event):
    if subscription_sync(provider=provider, subscription_id=event.object["id"]) is None:
        raise Ignored("no matching subscription (yet)")


def _invoice_subscription(obj: dict) -> str:
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    return obj.get("subscription") or parent.get("subscription") or ""


def stripe_invoice(provider, event):
    sub_id = _invoice_subscription(event.object)
    if not sub_id:
        raise Ignored("invoice without subscription")
    failed = event.type == "invoice.payment_failed"
    local = subscription_sync(provider=provider, subscription_id=sub_id, payment_failed=failed)
    if local is None:
        raise Ignored("no matching subscription (yet)")
    if not failed and provider.invoice_is_paid(invoice_id=event.object["id"]):
        # Stripe bills the metered units of a closed period on the next cycle's invoice: once
        # that is paid, our statements for the periods before the current one are settled.
        invoices_settle(subscription=local, before=local.current_period_start)
        _invoice_renewal(local, "stripe", event.object["id"])


def _invoice_renewal(local, provider_name: str, reference: str) -> None:
    """A paid renewal invoices the plan fee of the period it pays for, at once (a no-op for the
    period a checkout already invoiced, or an upgrade's proration)."""
    if local.status in LIVE_STATUSES and local.price_id:
        invoice_for_payment(subscription=local, provider=provider_name, payment_reference=reference,
                            start=local.current_period_start, end=local.current_period_end)


def stripe_charge_refunded(provider, event):
    charge = event.object
    org_id = _stripe_org_id(charge.get("customer") or "")
    if org_id is None:
        raise Ignored("unknown customer")
    payment_record(org_id=org_id, provider="stripe", reference=charge["id"], amount_minor=charge["amount"],
                            currency=charge["currency"], refunded_minor=charge.get("amount_refunded", 0))


def stripe_dispute(provider, event):
    dispute = event.object
    charge_id = dispute.get("charge") or ""
    payment = Payment.objects.filter(provider="stripe", reference=charge_id).first()
    if payment is None:
        raise Ignored("dispute on an unknown charge")
    payment_record(org_id=payment.organization_id, provider="stripe", reference=charge_id,
                            amount_minor=payment.amount_minor, currency=payment.currency,
                            dispute_status=dispute.get("status", "needs_response"))


# --- Paystack -------------------------------------------------------------------------------
def paystack_charge_success(provider, event):
    reference = event.object.get("reference", "")
    if Checkout.objects.filter(provider="paystack", reference=reference).exists():
        checkout_confirm(provider=provider, reference=reference)
        return
    # A renewal or usage charge: verify it, record it, and let the subscription recover.
    payment = provider.fetch_payment(reference=reference)
    if not payment.paid:
        raise PaymentNotConfirmed("Paystack does not report this charge as successful.")
    profile = BillingProfile.objects.filter(paystack_customer_code=payment.customer_id).first()
    if profile is None:
        raise Ignored("charge for an unknown customer")
    payment_record(org_id=profile.organization_id, provider="paystack", reference=reference,
                            amount_minor=payment.amount_minor or 0, currency=payment.currency)
    if reference.startswith(("tg-", "tg_")):
        return  # our own usage / upgrade charges: invoiced where they are made
    live = Subscription.objects.filter(organization_id=profile.organization_id, provider="paystack",
                                                status__in=LIVE_STATUSES).exclude(provider_subscription_id="").first()
    if live is not None:  # a renewal: bring the period forward first (invoice.update may come later)
        local = subscription_sync(provider=provider, subscription_id=live.provider_subscription_id)
        if local is not None:
            # Only a charge of exactly the plan's price is its renewal; anything else is
            # recorded above as a payment but never invoiced as the plan fee.
            if local.price is None or (payment.amount_minor, (payment.currency or "").upper()) != (
                    local.price.amount_minor, local.price.currency.upper()):
                log.warning("paystack charge %s (%s %s) does not match %s's price; not invoiced as a renewal",
                            reference, payment.amount_minor, payment.currency, local)
                return
            _invoice_renewal(local, "paystack", reference)


def paystack_subscription(provider, event):
    code = event.object.get("subscription_code", "")
    if not code or subscription_sync(provider=provider, subscription_id=code) is None:
        raise Ignored("no matching subscription (yet)")


def paystack_invoice(provider, event):
    code = (event.object.get("subscription") or {}).get("subscription_code", "")
    if not code:
        raise Ignored("invoice without subscription")
    failed = event.type == "invoice.payment_failed"
    if subscription_sync(provider=provider, subscription_id=code, payment_failed=failed) is None:
        raise Ignored("no matching subscription (yet)")


def paystack_refund(provider, event):
    data = event.object
    payment = Payment.objects.filter(provider="paystack", reference=data.get("transaction_reference") or "").first()
    if payment is None:
        raise Ignored("refund of an unknown transaction")
    if data.get("status") != "processed":
        raise Ignored(f"refund {data.get('status')}: recorded when processed")
    refunded = int(data.get("amount") or 0)
    payment_record(org_id=payment.organization_id, provider="paystack", reference=payment.reference,
                            amount_minor=payment.amount_minor, currency=payment.currency,
                            refunded_minor=payment.refunded_minor + refunded)


def paystack_dispute(provider, event):
    data = event.object
    reference = (data.get("transaction") or {}).get("reference") or data.get("transaction_reference") or ""
    payment = Payment.objects.filter(provider="paystack", reference=reference).first()
    if payment is None:
        raise Ignored("dispute on an unknown transaction")
    status = data.get("resolution") or data.get("status") or "open"
    payment_record(org_id=payment.organization_id, provider="paystack", reference=reference,
                            amount_minor=payment.amount_minor, currency=payment.currency, dispute_status=status)


HANDLERS = {
    "stripe": {
        "checkout.session.completed": stripe_checkout_completed,
        "customer.subscription.created": stripe_subscription_changed,
        "customer.subscription.updated": stripe_subscription_changed,
        "customer.subscription.deleted": stripe_subscription_changed,
        "invoice.paid": stripe_invoice,
        "invoice.payment_failed": stripe_invoice,
        "charge.refunded": stripe_charge_refunded,
        "charge.dispute.created": stripe_dispute,
        "charge.dispute.updated": stripe_dispute,
        "charge.dispute.closed": stripe_dispute,
    },
    "paystack": {
        "charge.success": paystack_charge_success,
        "subscription.create": paystack_subscription,
        "subscription.disable": paystack_subscription,
        "subscription.not_renew": paystack_subscription,
        "subscription.enable": paystack_subscription,
        "invoice.create": paystack_invoice,
        "invoice.update": paystack_invoice,
        "invoice.payment_failed": paystack_invoice,
        "refund.processed": paystack_refund,
        "refund.pending": paystack_refund,
        "refund.processing": paystack_refund,
        "refund.failed": paystack_refund,
        "charge.dispute.create": paystack_dispute,
        "charge.dispute.remind": paystack_dispute,
        "charge.dispute.resolve": paystack_dispute,
    },
}
