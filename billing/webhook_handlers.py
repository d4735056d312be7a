"""Handlers of verified provider webhooks, by provider and event type.

The body is a trigger, never evidence: each handler re-reads the object from the provider
and the services change state only from allowed states, so duplicates and out-of-order
deliveries converge on the provider's current truth. ``Ignored`` means the event is valid but
needs nothing from us.
"""

from __future__ import annotations

import logging

from billing.checkout import PaymentNotConfirmed, checkout_confirm
from billing.invoices import invoice_for_payment, invoices_settle
from billing.models import BillingProfile, Checkout, Payment
from billing.payments import payment_record
from billing.providers.base import ParsedEvent
from billing.subscriptions import subscription_sync
from plans.models import LIVE_STATUSES, Price, Subscription

log = logging.getLogger("billing.webhooks")


class Ignored(Exception):
    """The event is valid but needs nothing from us (200, status IGNORED)."""


def ignore(provider, event: ParsedEvent) -> None:
    raise Ignored(f"{event.type} needs no action")


# --- Stripe ---------------------------------------------------------------------------------
def _stripe_org_id(customer_id: str) -> int | None:
    profiles = BillingProfile.objects.filter(stripe_customer_id=customer_id)
    return profiles.values_list("organization_id", flat=True).first()


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
    paid = None if failed else provider.invoice_payment(invoice_id=event.object["id"])
    if paid is not None:
        # Stripe bills the metered units of a closed period on the next cycle's invoice: once
        # that is paid, our statements for the periods before the current one are settled.
        invoices_settle(subscription=local, before=local.current_period_start)
        price = Price.objects.filter(stripe_price_id=paid.plan_ref).first() if paid.plan_ref else None
        _invoice_renewal(local, "stripe", event.object["id"], price or local.price)


def _invoice_renewal(local, provider_name: str, reference: str, price: Price | None) -> None:
    """A paid renewal invoices the plan fee of the period it pays for, at once (a no-op for the
    period a checkout already invoiced, or an upgrade's proration), at the price it paid: a
    renewal heard of after a plan change was still paid at the old price."""
    if local.status in LIVE_STATUSES and price is not None:
        invoice_for_payment(
            subscription=local,
            provider=provider_name,
            payment_reference=reference,
            start=local.current_period_start,
            end=local.current_period_end,
            price=price,
        )


def stripe_charge_refunded(provider, event):
    charge = event.object
    org_id = _stripe_org_id(charge.get("customer") or "")
    if org_id is None:
        raise Ignored("unknown customer")
    payment_record(
        org_id=org_id,
        provider="stripe",
        reference=charge["id"],
        amount_minor=charge["amount"],
        currency=charge["currency"],
        refunded_minor=charge.get("amount_refunded", 0),
    )


def stripe_dispute(provider, event):
    dispute = event.object
    charge_id = dispute.get("charge") or ""
    payment = Payment.objects.filter(provider="stripe", reference=charge_id).first()
    if payment is None:
        raise Ignored("dispute on an unknown charge")
    payment_record(
        org_id=payment.organization_id,
        provider="stripe",
        reference=charge_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        dispute_status=dispute.get("status", "needs_response"),
    )


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
    payment_record(
        org_id=profile.organization_id,
        provider="paystack",
        reference=reference,
        amount_minor=payment.amount_minor or 0,
        currency=payment.currency,
    )
    if reference.startswith(("tg-", "tg_")):
        return  # our own usage / upgrade charges: invoiced where they are made
    live = (
        Subscription.objects.filter(
            organization_id=profile.organization_id, provider="paystack", status__in=LIVE_STATUSES
        )
        .exclude(provider_subscription_id="")
        .first()
    )
    if live is not None:  # a renewal: bring the period forward first (invoice.update may come later)
        local = subscription_sync(provider=provider, subscription_id=live.provider_subscription_id)
        if local is not None:
            # Only a charge of exactly the price of the plan it was for (the plan code Paystack
            # charged, else the current one) is its renewal; anything else is recorded above as
            # a payment but never invoiced as the plan fee.
            paid_for = Price.objects.filter(paystack_plan_code=payment.plan_ref).first() if payment.plan_ref else None
            price = paid_for or local.price
            if price is None or (payment.amount_minor, (payment.currency or "").upper()) != (
                price.amount_minor,
                price.currency.upper(),
            ):
                log.warning(
                    "paystack charge %s (%s %s) does not match %s's price; not invoiced as a renewal",
                    reference,
                    payment.amount_minor,
                    payment.currency,
                    local,
                )
                return
            _invoice_renewal(local, "paystack", reference, price)


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
    payment_record(
        org_id=payment.organization_id,
        provider="paystack",
        reference=payment.reference,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        refunded_minor=payment.refunded_minor + refunded,
    )


def paystack_dispute(provider, event):
    data = event.object
    reference = (data.get("transaction") or {}).get("reference") or data.get("transaction_reference") or ""
    payment = Payment.objects.filter(provider="paystack", reference=reference).first()
    if payment is None:
        raise Ignored("dispute on an unknown transaction")
    status = data.get("resolution") or data.get("status") or "open"
    payment_record(
        org_id=payment.organization_id,
        provider="paystack",
        reference=reference,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        dispute_status=status,
    )


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
