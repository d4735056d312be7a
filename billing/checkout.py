"""Buying a plan: hosted checkout at the provider, then confirmation (redirect, webhook or
retry — idempotent), which replaces the live subscription and invoices the payment at once.

The provider is only ever asked (``fetch_*``) — webhook bodies are triggers, never evidence.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from billing.changes import subscription_changed
from billing.compensations import compensation_record
from billing.invoices import invoice_for_payment
from billing.models import Checkout, CheckoutStatus, CompensationKind, Payment
from billing.payments import payment_counted
from billing.profiles import profile_for
from billing.providers import provider_get, provider_name_for_currency
from billing.providers.base import PaymentInfo, PaymentProvider, ProviderError, SubscriptionInfo
from plans.models import LIVE_STATUSES, Plan, Price, Subscription, SubscriptionStatus
from portal.problems import Conflict, Problem

log = logging.getLogger("billing")


class PlanNotPurchasable(Problem):
    status, slug, title = 400, "plan-not-purchasable", "This plan cannot be bought online"


class PaymentNotConfirmed(Problem):
    status, slug, title = 402, "payment-not-confirmed", "The payment is not confirmed"


class CheckoutAlreadyPaid(Problem):
    """A new checkout was started while an earlier one had been paid: the earlier one is now
    confirmed and its plan is live, so no second checkout is created."""

    status, slug, title = 409, "checkout-already-paid", "An earlier checkout was paid"


class PaymentMismatch(Problem):
    """The provider reports a payment that does not match what we asked for (tampering)."""

    status, slug, title = 409, "payment-mismatch", "The payment does not match the checkout"


def price_for(*, plan: Plan, currency: str) -> Price:
    price = plan.prices.filter(currency=currency.upper(), interval="month", is_active=True).first()
    if price is None or price.amount_minor <= 0 or not plan.is_active:
        raise PlanNotPurchasable(f"The {plan.name} plan has no {currency} price you can pay online.")
    return price


def checkout_start(
    *, org: Organization, plan: Plan, user, currency: str = "", provider: PaymentProvider | None = None
) -> Checkout:
    """Create a hosted checkout for ``plan`` in ``currency`` (default: the organization's billing
    currency); the currency picks the provider. An organization has one open checkout at a
    time: this one supersedes the previous (expired at the provider where it can be), and a
    previous one that was paid meanwhile is confirmed instead (``CheckoutAlreadyPaid``)."""
    price = price_for(plan=plan, currency=(currency or org.currency).upper())
    provider = provider or provider_get(provider_name_for_currency(price.currency))
    for previous in Checkout.objects.filter(organization=org, status=CheckoutStatus.OPEN).select_related("plan"):
        _checkout_supersede(previous)
    profile = profile_for(org)
    token = f"tg_{org.pk}_{secrets.token_hex(8)}"
    success = f"{settings.SITE_URL}{reverse('billing:checkout_return', args=[provider.name])}"
    session = provider.create_checkout(
        org=org,
        plan=plan,
        price=price,
        customer_email=org.billing_email or user.email,
        customer_id=profile.stripe_customer_id if provider.name == "stripe" else "",
        success_url=success + ("?session_id={CHECKOUT_SESSION_ID}" if provider.name == "stripe" else ""),
        cancel_url=f"{settings.SITE_URL}{reverse('billing:overview')}?checkout=canceled",
        reference=token,
    )
    try:
        with transaction.atomic():
            return Checkout.objects.create(
                organization=org,
                plan=plan,
                price=price,
                provider=provider.name,
                reference=session.reference,
                url=session.url,
                amount_minor=price.amount_minor,
                currency=price.currency,
                created_by=user,
            )
    except IntegrityError as exc:  # another start for this organization won the race
        _expire_quietly(provider, session.reference)
        raise Conflict(
            "Another checkout for your organization was started at the same moment; use that one or try again."
        ) from exc


def _checkout_supersede(previous: Checkout) -> None:
    try:
        provider = provider_get(previous.provider)
    except KeyError:  # that provider was switched off since: its page cannot be paid for us
        Checkout.objects.filter(pk=previous.pk, status=CheckoutStatus.OPEN).update(status=CheckoutStatus.EXPIRED)
        return

    def confirm_if_paid() -> None:
        if provider.fetch_payment(reference=previous.reference).paid:
            checkout_confirm(provider=provider, reference=previous.reference)
            raise CheckoutAlreadyPaid(f"Your earlier checkout was paid: you are on {previous.plan.name} now.")

    confirm_if_paid()
    try:
        provider.expire_checkout(reference=previous.reference)
    except ProviderError:  # not open at the provider any more: paid in the meantime, or expired there
        confirm_if_paid()
    Checkout.objects.filter(pk=previous.pk, status=CheckoutStatus.OPEN).update(status=CheckoutStatus.EXPIRED)


def _expire_quietly(provider: PaymentProvider, reference: str) -> None:
    try:
        provider.expire_checkout(reference=reference)
    except Problem as exc:  # never shown to the customer; a payment on it would be refunded
        log.warning("could not expire checkout %s: %s", reference, exc)


@transaction.atomic
def checkout_confirm(*, provider: PaymentProvider, reference: str) -> Subscription:
    """Activate the plan bought by checkout ``reference`` once the provider confirms payment.

    Idempotent (webhook, redirect and retries all call it). Verifies paid status, amount and
    currency against what we asked for; raises PaymentNotConfirmed / PaymentMismatch otherwise."""
    checkout = (
        Checkout.objects.select_for_update()
        .select_related("organization", "plan", "price")
        .get(provider=provider.name, reference=reference)
    )
    if checkout.status in (CheckoutStatus.COMPLETED, CheckoutStatus.REFUNDED) and checkout.subscription_id:
        return checkout.subscription
    payment = provider.fetch_payment(reference=reference)
    if not payment.paid:
        raise PaymentNotConfirmed("The provider has not confirmed this payment yet.")
    if payment.amount_minor != checkout.amount_minor or payment.currency != checkout.currency.upper():
        checkout.status = CheckoutStatus.FAILED
        checkout.save(update_fields=["status"])
        log.warning(
            "checkout %s amount mismatch: paid %s %s, expected %s %s",
            reference,
            payment.amount_minor,
            payment.currency,
            checkout.amount_minor,
            checkout.currency,
        )
        raise PaymentMismatch(
            f"Paid {payment.amount_minor} {payment.currency}, expected {checkout.amount_minor} {checkout.currency}."
        )
    org = Organization.objects.select_for_update().get(pk=checkout.organization_id)  # one confirmation at a time
    live_paid = (
        Subscription.objects.select_for_update()
        .select_related("plan")
        .filter(organization=org, status__in=LIVE_STATUSES)
        .exclude(provider="")
        .first()
    )
    if live_paid is not None:
        return _checkout_refund(checkout, provider, payment, live_paid)
    profile = profile_for(org)
    info = _subscription_for_payment(provider, payment, checkout)
    if provider.name == "stripe":
        profile.stripe_customer_id = payment.customer_id
    else:
        profile.paystack_customer_code = payment.customer_id
        if payment.authorization_code:
            profile.paystack_authorization_code = payment.authorization_code
        if info and info.email_token:
            profile.paystack_email_token = info.email_token
    profile.downgraded_from = None
    profile.save()

    now = timezone.now()
    # Only a subscription without a provider (manual, free) can be live here: it is replaced.
    for old in Subscription.objects.select_for_update().filter(organization=org, status__in=LIVE_STATUSES):
        old.status, old.canceled_at = SubscriptionStatus.CANCELED, now
        old.save(update_fields=["status", "canceled_at", "updated_at"])
    subscription = Subscription.objects.create(
        organization=org,
        plan=checkout.plan,
        price=checkout.price,
        status=SubscriptionStatus.ACTIVE,
        currency=checkout.currency,
        provider=provider.name,
        provider_customer_id=payment.customer_id,
        provider_subscription_id=info.id if info else "",
        current_period_start=(info and info.current_period_start) or now,
        current_period_end=(info and info.current_period_end) or now + timedelta(days=30),
    )
    checkout.status, checkout.subscription, checkout.completed_at = CheckoutStatus.COMPLETED, subscription, now
    checkout.save(update_fields=["status", "subscription", "completed_at"])
    payment_row, created = Payment.objects.get_or_create(
        provider=provider.name,
        reference=reference,
        defaults={"organization": org, "amount_minor": payment.amount_minor, "currency": payment.currency},
    )
    if created:
        payment_counted(payment_row)
    invoice_for_payment(
        subscription=subscription,
        provider=provider.name,
        payment_reference=reference,
        start=subscription.current_period_start,
        end=subscription.current_period_end,
    )
    subscription_changed(org.pk, subscription, "checkout.completed")
    for other in Checkout.objects.filter(organization=org, status=CheckoutStatus.OPEN).exclude(pk=checkout.pk):
        other.status = CheckoutStatus.EXPIRED  # a plan is live now: paying it would only be refunded
        other.save(update_fields=["status"])
        transaction.on_commit(lambda o=other: _expire_quietly(provider_get(o.provider), o.reference))
    return subscription


def _checkout_refund(
    checkout: Checkout, provider: PaymentProvider, payment: PaymentInfo, live: Subscription
) -> Subscription:
    """A payment for a checkout while the organization already has a live paid plan (a second
    tab, a superseded Paystack page): the live plan stays, the money goes back in full and the
    provider subscription the payment created is canceled — journaled, so it happens even if
    the provider is down right now."""
    org_id, now = checkout.organization_id, timezone.now()
    checkout.status, checkout.subscription, checkout.completed_at = CheckoutStatus.REFUNDED, live, now
    checkout.save(update_fields=["status", "subscription", "completed_at"])
    payment_row, created = Payment.objects.get_or_create(
        provider=provider.name,
        reference=checkout.reference,
        defaults={"organization_id": org_id, "amount_minor": checkout.amount_minor, "currency": checkout.currency},
    )
    if created:
        payment_counted(payment_row)
    reason = f"checkout {checkout.reference} paid while {live.plan.name} was live"
    compensation_record(
        org_id=org_id,
        provider=provider.name,
        kind=CompensationKind.REFUND,
        reference=checkout.reference,
        amount_minor=checkout.amount_minor,
        currency=checkout.currency,
        reason=reason,
    )
    if payment.subscription_id:
        compensation_record(
            org_id=org_id,
            provider=provider.name,
            kind=CompensationKind.SUBSCRIPTION_CANCEL,
            reference=payment.subscription_id,
            reason=reason,
        )
    elif provider.name == "paystack" and payment.customer_id and checkout.price.paystack_plan_code:
        # Paystack creates the subscription after the charge: find it among the customer's.
        code = checkout.price.paystack_plan_code
        compensation_record(
            org_id=org_id,
            provider=provider.name,
            kind=CompensationKind.SUBSCRIPTION_CANCEL,
            reference=f"strays:{payment.customer_id}:{code}:{checkout.reference}",
            reason=reason,
            data={"customer_id": payment.customer_id, "price_ref": code},
        )
    log.warning("%s: refunding %s %s", reason, checkout.amount_minor, checkout.currency)
    return live


def _subscription_for_payment(
    provider: PaymentProvider, payment: PaymentInfo, checkout: Checkout
) -> SubscriptionInfo | None:
    if payment.subscription_id:
        return provider.fetch_subscription(subscription_id=payment.subscription_id)
    if provider.name == "paystack" and payment.customer_id and checkout.price.paystack_plan_code:
        # Paystack creates the subscription after the first charge; it may not exist yet, in
        # which case subscription.create attaches it later (subscription_sync).
        return provider.find_subscription(customer_id=payment.customer_id, price_ref=checkout.price.paystack_plan_code)
    return None
