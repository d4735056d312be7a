"""The compensation journal: refunds and cancellations we owe, done exactly once.

A payment we cannot honour must never be kept silently, and a refund must never be sent
twice. So the debt is written down (``Compensation``) in the same transaction as the
decision, tried right after commit, and retried by the beat task ``billing-compensations``
until the provider confirms it. Each run *looks the result up first* (how much is refunded
already, whether the subscription is canceled already) and only then acts, so a run after a
lost answer, a crash or a concurrent run does nothing twice. A refusal by the provider, or a
debt still open after ``MAX_ATTEMPTS``, is marked ``failed`` and logged as an error: a person
must look at it (admin: Billing, Compensations).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from billing.models import Compensation, CompensationKind, CompensationStatus
from billing.payments import payment_record
from billing.providers import provider_get
from billing.providers.base import PaymentProvider, ProviderError, ProviderUnavailable
from plans.models import LIVE_STATUSES, Subscription

log = logging.getLogger("billing.compensations")

RETRY_SECONDS = (60, 300, 900, 3600)  # then hourly
MAX_ATTEMPTS = 48
# A subscription we never learned the id of is looked for among those created this close to
# the moment the debt was recorded (Paystack creates it right after the first charge).
STRAY_WINDOW = timedelta(hours=1)


class NotYet(Exception):
    """Nothing can be decided yet (e.g. our own subscription's id is still unknown)."""


def compensation_record(
    *,
    org_id: int,
    provider: str,
    kind: str,
    reference: str,
    reason: str,
    amount_minor: int | None = None,
    currency: str = "",
    data: dict | None = None,
) -> Compensation:
    """Journal a debt (idempotent per provider, kind and reference) and try it after commit."""
    compensation, _ = Compensation.objects.get_or_create(
        provider=provider,
        kind=kind,
        reference=reference,
        defaults={
            "organization_id": org_id,
            "reason": reason[:200],
            "amount_minor": amount_minor,
            "currency": currency.upper(),
            "data": data or {},
        },
    )
    transaction.on_commit(lambda: compensation_run(compensation_id=compensation.pk))
    return compensation


def compensation_run(*, compensation_id: int, now: datetime | None = None) -> str:
    """Settle one pending debt if it can be now; never raises (it runs after commits)."""
    now = now or timezone.now()
    with transaction.atomic():
        compensation = (
            Compensation.objects.select_for_update(skip_locked=True)
            .filter(pk=compensation_id, status=CompensationStatus.PENDING)
            .first()
        )
        if compensation is None:
            return "settled or being settled"
        compensation.attempts += 1
        try:
            provider = provider_get(compensation.provider)
            if compensation.kind == CompensationKind.REFUND:
                result = _refund(compensation, provider)
            else:
                result = _cancel(compensation, provider, now)
        except (ProviderUnavailable, NotYet) as exc:
            _later(compensation, now, f"{type(exc).__name__}: {exc}")
            return "later"
        except (ProviderError, KeyError) as exc:
            _fail(compensation, now, f"{type(exc).__name__}: {exc}")
            return "failed"
        compensation.status, compensation.result, compensation.done_at = CompensationStatus.DONE, result[:200], now
        compensation.last_error = ""
        compensation.save()
        log.info("compensation %s done: %s", compensation, result)
        return result


def compensations_run_due(*, now: datetime | None = None) -> int:
    """Beat task body: every pending debt whose next attempt is due."""
    now = now or timezone.now()
    due = list(
        Compensation.objects.filter(status=CompensationStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:200]
    )
    outcomes = [compensation_run(compensation_id=pk, now=now) for pk in due]
    return len([outcome for outcome in outcomes if outcome not in ("later", "settled or being settled")])


def _later(compensation: Compensation, now: datetime, error: str) -> None:
    if compensation.attempts >= MAX_ATTEMPTS:
        _fail(compensation, now, f"gave up after {compensation.attempts} attempts: {error}")
        return
    delay = RETRY_SECONDS[min(compensation.attempts, len(RETRY_SECONDS)) - 1]
    compensation.last_error, compensation.next_attempt_at = error[:2000], now + timedelta(seconds=delay)
    compensation.save()
    log.warning("compensation %s not settled yet: %s", compensation, error)


def _fail(compensation: Compensation, now: datetime, error: str) -> None:
    compensation.status, compensation.last_error, compensation.done_at = CompensationStatus.FAILED, error[:2000], now
    compensation.save()
    log.error("compensation %s FAILED, a person must settle it: %s", compensation, error)


def _refund(compensation: Compensation, provider: PaymentProvider) -> str:
    if compensation.data.get("only_if_paid"):
        try:
            paid = provider.fetch_payment(reference=compensation.reference).paid
        except ProviderError:  # the provider does not know the reference: nothing was charged
            paid = False
        if not paid:
            return "nothing was charged"
    target = provider.refund_reference(reference=compensation.reference)
    owed = compensation.amount_minor or 0
    already = provider.refunded_minor(reference=target)
    if already < owed:
        refund_id = provider.refund(reference=target, amount_minor=owed - already)
        result = f"refunded {owed - already} {compensation.currency} ({refund_id})"
    else:
        result = f"already refunded ({already} {compensation.currency})"
    payment_record(
        org_id=compensation.organization_id,
        provider=compensation.provider,
        reference=compensation.reference,
        amount_minor=owed,
        currency=compensation.currency,
        refunded_minor=owed,
    )
    return result


def _cancel(compensation: Compensation, provider: PaymentProvider, now: datetime) -> str:
    if not compensation.reference.startswith("strays:"):
        info = provider.fetch_subscription(subscription_id=compensation.reference)
        if info.status == "canceled":
            return "already canceled"
        provider.cancel_subscription(subscription_id=info.id, email_token=info.email_token, at_period_end=False)
        return f"canceled {info.id}"
    ours = set(
        Subscription.objects.filter(
            organization_id=compensation.organization_id, provider=compensation.provider, status__in=LIVE_STATUSES
        ).values_list("provider_subscription_id", flat=True)
    )
    if "" in ours:
        raise NotYet("our live subscription's provider id is not known yet")
    start, end = compensation.created_at - STRAY_WINDOW, compensation.created_at + STRAY_WINDOW
    strays = [
        info
        for info in provider.live_subscriptions(
            customer_id=compensation.data["customer_id"], price_ref=compensation.data["price_ref"]
        )
        if info.id not in ours and info.current_period_start and start <= info.current_period_start <= end
    ]
    if not strays and now < end:
        raise NotYet("the provider has not created it yet")
    for info in strays:
        provider.cancel_subscription(subscription_id=info.id, email_token=info.email_token, at_period_end=False)
    return f"canceled {', '.join(info.id for info in strays) or 'none (never created)'}"
