"""Billing writes: checkout, confirmation, subscription sync, plan changes, dunning.

The provider is only ever asked (``fetch_*``) — webhook bodies are triggers, never evidence.
Every subscription change ends with ``entitlements_publish`` (after commit) so the hot path
sees the new limits on the next request, and a ``subscription.updated`` customer event.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import billing_contact_email, billing_contacts
from billing.events import customer_event_emit
from billing.models import (BillingProfile, Checkout, CheckoutStatus, CustomerEvent, Payment, PaymentStatus,
                            WebhookDelivery, WebhookEndpoint)
from billing.providers import provider_get, provider_name_for_currency
from billing.providers.base import PaymentInfo, PaymentProvider, SubscriptionInfo
from plans.models import LIVE_STATUSES, Plan, Price, Subscription, SubscriptionStatus
from usage.entitlements import entitlements_publish
from portal.mail import email_send
from portal.money import round_minor
from portal.problems import Conflict, Problem

log = logging.getLogger("billing")


class PlanNotPurchasable(Problem):
    status, slug, title = 400, "plan-not-purchasable", "This plan cannot be bought online"


class PaymentNotConfirmed(Problem):
    status, slug, title = 402, "payment-not-confirmed", "The payment is not confirmed"


class PaymentMismatch(Problem):
    """The provider reports a payment that does not match what we asked for (tampering)."""

    status, slug, title = 409, "payment-mismatch", "The payment does not match the checkout"


def profile_for(org: Organization) -> BillingProfile:
    profile, _ = BillingProfile.objects.get_or_create(organization=org)
    return profile


def _after_change(org_id: int, subscription: Subscription | None, reason: str) -> None:
    data = {"reason": reason, "plan": subscription.plan.code if subscription and subscription.status in LIVE_STATUSES else "free",
            "status": subscription.status if subscription else "none"}
    if subscription:
        data.update(subscription_id=subscription.pk, currency=subscription.currency,
                    current_period_end=subscription.current_period_end.isoformat(),
                    cancel_at_period_end=subscription.cancel_at_period_end)
    transaction.on_commit(lambda: entitlements_publish(org_id=org_id))
    customer_event_emit(org_id=org_id, type="subscription.updated", data=data)
    log.info("subscription change org=%s reason=%s data=%s", org_id, reason, data)


def price_for(*, plan: Plan, currency: str) -> Price:
    price = plan.prices.filter(currency=currency.upper(), interval="month", is_active=True).first()
    if price is None or price.amount_minor <= 0 or not plan.is_active:
        raise PlanNotPurchasable(f"The {plan.name} plan has no {currency} price you can pay online.")
    return price


# --- checkout -------------------------------------------------------------------------------
def checkout_start(*, org: Organization, plan: Plan, user, currency: str = "",
                   provider: PaymentProvider | None = None) -> Checkout:
    """Create a hosted checkout for ``plan`` in ``currency`` (default: the organization's billing
    currency); the currency picks the provider."""
    price = price_for(plan=plan, currency=(currency or org.currency).upper())
    provider = provider or provider_get(provider_name_for_currency(price.currency))
    profile = profile_for(org)
    token = f"tg_{org.pk}_{secrets.token_hex(8)}"
    success = f"{settings.SITE_URL}{reverse('billing:checkout_return', args=[provider.name])}"
    session = provider.create_checkout(
        org=org, plan=plan, price=price, customer_email=org.billing_email or user.email,
        customer_id=profile.stripe_customer_id if provider.name == "stripe" else "",
        success_url=success + ("?session_id={CHECKOUT_SESSION_ID}" if provider.name == "stripe" else ""),
        cancel_url=f"{settings.SITE_URL}{reverse('billing:overview')}?checkout=canceled", reference=token,
    )
    return Checkout.objects.create(
        organization=org, plan=plan, price=price, provider=provider.name, reference=session.reference, url=session.url,
        amount_minor=price.amount_minor, currency=price.currency, created_by=user,
    )


@transaction.atomic
def checkout_confirm(*, provider: PaymentProvider, reference: str) -> Subscription:
    """Activate the plan bought by checkout ``reference`` once the provider confirms payment.

    Idempotent (webhook, redirect and retries all call it). Verifies paid status, amount and
    currency against what we asked for; raises PaymentNotConfirmed / PaymentMismatch otherwise."""
    checkout = Checkout.objects.select_for_update().select_related("organization", "plan", "price").get(
        provider=provider.name, reference=reference)
    if checkout.status == CheckoutStatus.COMPLETED and checkout.subscription_id:
        return checkout.subscription
    payment = provider.fetch_payment(reference=reference)
    if not payment.paid:
        raise PaymentNotConfirmed("The provider has not confirmed this payment yet.")
    if payment.amount_minor != checkout.amount_minor or payment.currency != checkout.currency.upper():
        checkout.status = CheckoutStatus.FAILED
        checkout.save(update_fields=["status"])
        log.warning("checkout %s amount mismatch: paid %s %s, expected %s %s", reference, payment.amount_minor,
                    payment.currency, checkout.amount_minor, checkout.currency)
        raise PaymentMismatch(
            f"Paid {payment.amount_minor} {payment.currency}, expected {checkout.amount_minor} {checkout.currency}.")
    org = checkout.organization
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
    for old in Subscription.objects.select_for_update().filter(organization=org, status__in=LIVE_STATUSES):
        old.status, old.canceled_at = SubscriptionStatus.CANCELED, now
        old.save(update_fields=["status", "canceled_at", "updated_at"])
        if old.provider and old.provider_subscription_id and (not info or old.provider_subscription_id != info.id):
            transaction.on_commit(lambda o=old: _cancel_quietly(o))
    subscription = Subscription.objects.create(
        organization=org, plan=checkout.plan, price=checkout.price, status=SubscriptionStatus.ACTIVE,
        currency=checkout.currency, provider=provider.name, provider_customer_id=payment.customer_id,
        provider_subscription_id=info.id if info else "",
        current_period_start=(info and info.current_period_start) or now,
        current_period_end=(info and info.current_period_end) or now + timedelta(days=30),
    )
    checkout.status, checkout.subscription, checkout.completed_at = CheckoutStatus.COMPLETED, subscription, now
    checkout.save(update_fields=["status", "subscription", "completed_at"])
    Payment.objects.get_or_create(provider=provider.name, reference=reference, defaults={
        "organization": org, "amount_minor": payment.amount_minor, "currency": payment.currency})
    from billing.invoices import invoice_for_payment

    invoice_for_payment(subscription=subscription, provider=provider.name, payment_reference=reference,
                        start=subscription.current_period_start, end=subscription.current_period_end)
    _after_change(org.pk, subscription, "checkout.completed")
    return subscription


def _subscription_for_payment(provider: PaymentProvider, payment: PaymentInfo, checkout: Checkout) -> SubscriptionInfo | None:
    if payment.subscription_id:
        return provider.fetch_subscription(subscription_id=payment.subscription_id)
    if provider.name == "paystack" and payment.customer_id and checkout.price.paystack_plan_code:
        # Paystack creates the subscription after the first charge; it may not exist yet, in
        # which case subscription.create attaches it later (subscription_sync).
        return provider.find_subscription(customer_id=payment.customer_id, price_ref=checkout.price.paystack_plan_code)
    return None


def _cancel_quietly(subscription: Subscription) -> None:
    try:
        provider_get(subscription.provider).cancel_subscription(
            subscription_id=subscription.provider_subscription_id,
            email_token=profile_for(subscription.organization).paystack_email_token, at_period_end=False)
    except Problem as exc:  # the replaced subscription is already canceled on our side
        log.warning("could not cancel replaced subscription %s: %s", subscription.provider_subscription_id, exc)


# --- subscription sync (webhooks) -----------------------------------------------------------
def _local_subscription(provider_name: str, info: SubscriptionInfo) -> Subscription | None:
    qs = Subscription.objects.select_for_update().select_related("organization", "plan")
    found = qs.filter(provider=provider_name, provider_subscription_id=info.id).order_by("-created_at").first()
    if found is None and info.customer_id:
        # Paystack: the live subscription whose code we did not know yet.
        found = qs.filter(provider=provider_name, provider_customer_id=info.customer_id, provider_subscription_id="",
                          status__in=LIVE_STATUSES).first()
        if found is not None:
            found.provider_subscription_id = info.id
            found.save(update_fields=["provider_subscription_id", "updated_at"])
            if info.email_token:
                BillingProfile.objects.filter(organization=found.organization).update(paystack_email_token=info.email_token)
    return found


@transaction.atomic
def subscription_sync(*, provider: PaymentProvider, subscription_id: str, payment_failed: bool = False) -> Subscription | None:
    """Bring our subscription in line with the provider's current view of it.

    Allowed transitions: active→past_due (payment failed), past_due→active (recovered),
    live→canceled (ended at the provider), dunning-canceled→active (recovered after the grace
    downgrade: the paid plan is restored). Nothing ever leaves ``canceled`` otherwise."""
    info = provider.fetch_subscription(subscription_id=subscription_id)
    local = _local_subscription(provider.name, info)
    if local is None:
        log.info("no local subscription for %s %s yet", provider.name, subscription_id)
        return None
    org_id, now = local.organization_id, timezone.now()
    changed, reason = [], ""
    if local.status in LIVE_STATUSES:
        if info.current_period_end and info.current_period_start and info.current_period_end != local.current_period_end \
                and info.current_period_end > info.current_period_start:
            local.current_period_start, local.current_period_end = info.current_period_start, info.current_period_end
            changed += ["current_period_start", "current_period_end"]
        if local.cancel_at_period_end != info.cancel_at_period_end:
            local.cancel_at_period_end = info.cancel_at_period_end
            changed.append("cancel_at_period_end")
            reason = "cancel_at_period_end" if info.cancel_at_period_end else "resumed"
        if info.status == "canceled" and provider.name == "paystack" and local.current_period_end > now:
            # Paystack has no "cancel at period end": disabling marks the subscription complete
            # at once. The customer paid for this period, so access runs to its end
            # (subscriptions_end_canceled ends it then; Resume re-enables it before).
            if not local.cancel_at_period_end:
                local.cancel_at_period_end = True
                changed.append("cancel_at_period_end")
                reason = "cancel_at_period_end"
        elif info.status == "canceled":
            local.status, local.canceled_at = SubscriptionStatus.CANCELED, now
            changed += ["status", "canceled_at"]
            reason = "canceled"
        elif info.status == "past_due" and local.status == SubscriptionStatus.ACTIVE:
            local.status, local.past_due_since = SubscriptionStatus.PAST_DUE, now
            changed += ["status", "past_due_since"]
            reason = "past_due"
        elif info.status == "active" and local.status == SubscriptionStatus.PAST_DUE:
            local.status, local.past_due_since = SubscriptionStatus.ACTIVE, None
            changed += ["status", "past_due_since"]
            reason = "payment_recovered"
        if changed:
            local.save(update_fields=[*set(changed), "updated_at"])
    elif info.status == "active" and not payment_failed:
        profile = profile_for(local.organization)
        if profile.downgraded_from_id == local.pk and not Subscription.objects.filter(
                organization_id=org_id, status__in=LIVE_STATUSES).exists():
            local.status, local.past_due_since, local.canceled_at = SubscriptionStatus.ACTIVE, None, None
            if info.current_period_end and info.current_period_start and info.current_period_end > info.current_period_start:
                local.current_period_start, local.current_period_end = info.current_period_start, info.current_period_end
            local.save()
            profile.downgraded_from = None
            profile.save(update_fields=["downgraded_from"])
            reason = "payment_recovered"
    if reason:
        _after_change(org_id, local, reason)
        if reason == "past_due":
            customer_event_emit(org_id=org_id, type="payment.failed", data={"subscription_id": local.pk,
                                "plan": local.plan.code, "grace_days": settings.BILLING_GRACE_DAYS})
            transaction.on_commit(lambda: dunning_email_send(org_id=org_id, kind="payment_failed"))
        elif reason == "payment_recovered":
            transaction.on_commit(lambda: dunning_email_send(org_id=org_id, kind="payment_recovered"))
    return local


def dunning_email_send(*, org_id: int, kind: str) -> None:
    """E-mail the billing contacts (``kind``: payment_failed, downgraded, payment_recovered)."""
    org = Organization.objects.get(pk=org_id)
    context = {"org": org, "kind": kind, "grace_days": settings.BILLING_GRACE_DAYS, "site_name": settings.SITE_NAME,
               "link": f"{settings.SITE_URL}{reverse('billing:overview')}"}
    try:
        email_send(template="billing_dunning", to=billing_contacts(org=org), context=context)
    except OSError:  # a mail outage must not undo a billing state change
        log.exception("dunning e-mail %s to org %s failed", kind, org_id)


@transaction.atomic
def dunning_expire(*, now=None) -> int:
    """Move past_due subscriptions older than BILLING_GRACE_DAYS to Free (cancel locally; the
    provider subscription stays, so a later successful payment restores the plan)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BILLING_GRACE_DAYS)
    expired = list(Subscription.objects.select_for_update().select_related("plan")
                   .filter(status=SubscriptionStatus.PAST_DUE, past_due_since__lte=cutoff))
    for sub in expired:
        sub.status, sub.canceled_at = SubscriptionStatus.CANCELED, now
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        profile = profile_for(sub.organization)
        profile.downgraded_from = sub
        profile.save(update_fields=["downgraded_from"])
        _after_change(sub.organization_id, sub, "dunning_downgrade")
        transaction.on_commit(lambda o=sub.organization_id: dunning_email_send(org_id=o, kind="downgraded"))
    return len(expired)


@transaction.atomic
def subscriptions_end_canceled(*, now=None) -> int:
    """Subscriptions set to cancel at period end whose period is over become canceled (the
    provider's own event normally does this first; this is the safety net)."""
    now = now or timezone.now()
    ended = list(Subscription.objects.select_for_update().filter(
        status__in=LIVE_STATUSES, cancel_at_period_end=True, current_period_end__lte=now))
    for sub in ended:
        sub.status, sub.canceled_at = SubscriptionStatus.CANCELED, now
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        _after_change(sub.organization_id, sub, "canceled")
    return len(ended)


# --- portal actions -------------------------------------------------------------------------
def subscription_cancel(*, org: Organization) -> Subscription:
    """Cancel the live paid subscription at the end of the period (access until then)."""
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES).first()
    if sub is None or not sub.provider:
        raise Conflict("There is no paid subscription to cancel.")
    provider = provider_get(sub.provider)
    provider.cancel_subscription(subscription_id=sub.provider_subscription_id,
                                 email_token=profile_for(org).paystack_email_token, at_period_end=True)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        if not sub.cancel_at_period_end:
            sub.cancel_at_period_end = True
            sub.save(update_fields=["cancel_at_period_end", "updated_at"])
            _after_change(org.pk, sub, "cancel_at_period_end")
    return sub


def subscription_resume(*, org: Organization) -> Subscription:
    """Keep the plan after all: undo a cancel-at-period-end before the period ends."""
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES, cancel_at_period_end=True).first()
    if sub is None or not sub.provider:
        raise Conflict("There is no canceled plan to resume.")
    provider_get(sub.provider).resume_subscription(subscription_id=sub.provider_subscription_id,
                                                   email_token=profile_for(org).paystack_email_token)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        if sub.cancel_at_period_end and sub.status in LIVE_STATUSES:
            sub.cancel_at_period_end = False
            sub.save(update_fields=["cancel_at_period_end", "updated_at"])
            _after_change(org.pk, sub, "resumed")
    return sub


def proration_minor(*, old_minor: int, new_minor: int, period_start, period_end, now) -> int:
    """What an upgrade costs now: the price difference for the unused part of the period."""
    total = Decimal((period_end - period_start).total_seconds())
    remaining = max(Decimal(0), Decimal((period_end - now).total_seconds()))
    share = remaining / total if total > 0 else Decimal(0)
    return round_minor(Decimal(new_minor - old_minor) * share)


def subscription_change_plan(*, org: Organization, plan: Plan) -> Subscription:
    """Upgrade (prorated difference charged now) or downgrade (no refund, takes effect now) a
    live paid subscription, at the provider first and then here."""
    sub = Subscription.objects.select_related("plan", "price").filter(organization=org, status__in=LIVE_STATUSES).first()
    if sub is None or not sub.provider or not sub.price:
        raise Conflict("Buy a plan first; plan changes apply to a paid subscription.")
    if sub.plan_id == plan.pk:
        raise Conflict(f"You are already on {plan.name}.")
    new_price = price_for(plan=plan, currency=sub.currency)
    upgrade = new_price.amount_minor > sub.price.amount_minor
    provider = provider_get(sub.provider)
    now = timezone.now()
    proration = proration_minor(old_minor=sub.price.amount_minor, new_minor=new_price.amount_minor,
                                period_start=sub.current_period_start, period_end=sub.current_period_end, now=now)
    charge_reference = ""
    if sub.provider == "paystack" and upgrade and proration > 0:
        profile = profile_for(org)
        if not profile.paystack_authorization_code:
            raise PaymentNotConfirmed("No saved card to charge the upgrade to; buy the plan through checkout.")
        # Deterministic within the minute: a double-submitted upgrade reuses the reference and
        # Paystack refuses the duplicate instead of charging the card twice.
        reference = f"tg_{org.pk}_upgrade_{sub.pk}_{new_price.pk}_{now:%Y%m%d%H%M}"
        charged = provider.charge_usage(customer_email=billing_contact_email(org=org),
                                        authorization_code=profile.paystack_authorization_code,
                                        amount_minor=proration, currency=sub.currency, reference=reference)
        Payment.objects.get_or_create(provider="paystack", reference=charged.reference, defaults={
            "organization": org, "amount_minor": charged.amount_minor, "currency": charged.currency})
        charge_reference, proration = charged.reference, charged.amount_minor
    try:
        info = provider.change_subscription_price(subscription_id=sub.provider_subscription_id, price=new_price,
                                                  prorate=upgrade)
    except Exception:
        if charge_reference:  # the plan did not change: give the prorated charge back
            log.exception("plan change failed after charging %s; refunding it", charge_reference)
            provider.refund(reference=charge_reference)
        raise
    if sub.provider == "stripe" and upgrade and info.latest_invoice_id:
        # Invoice what Stripe actually charged for the proration (it prorates to its own second).
        paid = provider.invoice_amount_paid(invoice_id=info.latest_invoice_id)
        if paid is None:
            raise PaymentNotConfirmed("Stripe did not confirm the prorated upgrade payment; your plan is unchanged.")
        proration = paid
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        old_plan = sub.plan
        sub.plan, sub.price, sub.cancel_at_period_end = plan, new_price, False
        sub.provider_subscription_id = info.id
        sub.save(update_fields=["plan", "price", "cancel_at_period_end", "provider_subscription_id", "updated_at"])
        if info.email_token:
            BillingProfile.objects.filter(organization=org).update(paystack_email_token=info.email_token)
        if upgrade and proration > 0:
            from billing.invoices import invoice_for_payment

            end = sub.current_period_end
            invoice_for_payment(
                subscription=sub, provider=sub.provider, start=now, end=end, proration_minor=proration,
                payment_reference=charge_reference or info.latest_invoice_id or f"{info.id}-upgrade-{now:%Y%m%d%H%M%S%f}",
                description=f"Upgrade {old_plan.name} → {plan.name}, prorated {now:%d %b} – {end:%d %b %Y}")
        _after_change(org.pk, sub, "upgraded" if upgrade else "downgraded")
    return sub


def portal_url(*, org: Organization, return_url: str) -> str:
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES).exclude(provider="").first()
    if sub is None:
        raise Conflict("There is no paid subscription to manage.")
    return provider_get(sub.provider).create_portal_session(
        customer_id=sub.provider_customer_id, subscription_id=sub.provider_subscription_id, return_url=return_url)


# --- payments, refunds, disputes ------------------------------------------------------------
def payment_record(*, org_id: int, provider: str, reference: str, amount_minor: int, currency: str,
                   refunded_minor: int | None = None, dispute_status: str | None = None,
                   failed: bool = False) -> Payment:
    payment, _ = Payment.objects.get_or_create(provider=provider, reference=reference, defaults={
        "organization_id": org_id, "amount_minor": amount_minor, "currency": currency.upper()})
    if refunded_minor is not None:
        payment.refunded_minor = max(payment.refunded_minor, refunded_minor)
        payment.status = PaymentStatus.REFUNDED if payment.refunded_minor >= payment.amount_minor else PaymentStatus.PARTIALLY_REFUNDED
    if dispute_status is not None:
        payment.dispute_status = dispute_status
        if dispute_status in ("won", "merchant-won", "declined"):  # settled in our favour: back to the money state
            payment.status = (PaymentStatus.SUCCEEDED if not payment.refunded_minor else
                              PaymentStatus.REFUNDED if payment.refunded_minor >= payment.amount_minor
                              else PaymentStatus.PARTIALLY_REFUNDED)
        elif payment.status != PaymentStatus.FAILED:
            payment.status = PaymentStatus.DISPUTED
    if failed:
        payment.status = PaymentStatus.FAILED
    payment.save()
    return payment



# --- customer webhook endpoints (HTML pages and REST API alike) ------------------------------
def webhook_endpoint_create(*, org: Organization, url: str, event_types: list[str], description: str = "") -> WebhookEndpoint:
    """Register an endpoint (SSRF-checked: raises ``UnsafeTarget``) with a fresh signing secret."""
    from billing.events import EVENT_TYPES
    from billing.outbound import secret_new, target_check

    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}")
    target_check(url)
    return WebhookEndpoint.objects.create(organization=org, url=url, description=description,
                                          event_types=list(event_types), secret=secret_new())


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``subscription.updated`` test event to this endpoint only (attempted at once)."""
    from billing.tasks import webhook_delivery_attempt

    event = CustomerEvent.objects.create(organization_id=endpoint.organization_id, public_id=f"evt_{secrets.token_hex(12)}",
                                         type="subscription.updated", data={"test": True, "message": "Test event from Tollgate"})
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event)
    webhook_delivery_attempt.delay(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    from billing.tasks import webhook_delivery_attempt

    webhook_delivery_attempt.delay(delivery.pk)
    delivery.refresh_from_db()
    return delivery
