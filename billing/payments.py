"""Payments seen at a provider, with their refunds and disputes."""

from __future__ import annotations

from django.db import transaction

from billing.models import Payment, PaymentStatus
from portal.metrics import PAYMENTS


def payment_record(
    *,
    org_id: int,
    provider: str,
    reference: str,
    amount_minor: int,
    currency: str,
    refunded_minor: int | None = None,
    dispute_status: str | None = None,
    failed: bool = False,
) -> Payment:
    payment, _ = Payment.objects.get_or_create(
        provider=provider,
        reference=reference,
        defaults={"organization_id": org_id, "amount_minor": amount_minor, "currency": currency.upper()},
    )
    if refunded_minor is not None:
        payment.refunded_minor = max(payment.refunded_minor, refunded_minor)
        payment.status = (
            PaymentStatus.REFUNDED
            if payment.refunded_minor >= payment.amount_minor
            else PaymentStatus.PARTIALLY_REFUNDED
        )
    if dispute_status is not None:
        payment.dispute_status = dispute_status
        if dispute_status in ("won", "merchant-won", "declined"):  # settled in our favour: back to the money state
            payment.status = (
                PaymentStatus.SUCCEEDED
                if not payment.refunded_minor
                else PaymentStatus.REFUNDED
                if payment.refunded_minor >= payment.amount_minor
                else PaymentStatus.PARTIALLY_REFUNDED
            )
        elif payment.status != PaymentStatus.FAILED:
            payment.status = PaymentStatus.DISPUTED
    if failed:
        payment.status = PaymentStatus.FAILED
    payment.save()
    payment_counted(payment)
    return payment


def payment_counted(payment: Payment) -> None:
    """Count a payment created or changed (``tollgate_payments_total``), once its transaction commits."""
    provider, status = payment.provider, str(payment.status)
    transaction.on_commit(lambda: PAYMENTS.labels(provider, status).inc())
