"""Subscription lifecycle after checkout: sync with the provider's view (webhooks), cancel
and resume, plan changes with proration, the provider's self-service portal.

Every change ends with ``subscription_changed`` (new limits on the hot path, a
``subscription.updated`` customer event).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import billing_contact_email
from billing.changes import subscription_changed
from billing.checkout import PaymentNotConfirmed, price_for
from billing.compensations import compensation_record
from billing.dunning import dunning_email_send
from billing.invoices import invoice_for_payment
from billing.models import BillingProfile, CompensationKind, Payment
from billing.profiles import profile_for
from billing.providers import provider_get
from billing.providers.base import PaymentProvider, ProviderOutcomeUnknown, SubscriptionInfo
from plans.models import LIVE_STATUSES, Plan, Price, Subscription, SubscriptionStatus
from portal.money import round_minor
from portal.problems import Conflict, Problem
from webhooks.events import customer_event_emit

log = logging.getLogger("billing")


class PlanChangeFailed(Problem):
    """The provider could not move the subscription to the new plan. The plan is unchanged;
    a prorated charge already taken is refunded (journaled until the provider confirms it)."""

    status, slug, title = 502, "plan-change-failed", "The plan change could not be applied"


# --- sync with the provider (webhooks) ------------------------------------------------------
def _local_subscription(provider_name: str, info: SubscriptionInfo) -> Subscription | None:
    qs = Subscription.objects.select_for_update().select_related("organization", "plan")
    found = qs.filter(provider=provider_name, provider_subscription_id=info.id).order_by("-created_at").first()
    if found is None and info.customer_id:
        # Paystack: the live subscription whose code we did not know yet.
        found = qs.filter(
            provider=provider_name,
            provider_customer_id=info.customer_id,
            provider_subscription_id="",
            status__in=LIVE_STATUSES,
        ).first()
        if found is not None:
            found.provider_subscription_id = info.id
            found.save(update_fields=["provider_subscription_id", "updated_at"])
            if info.email_token:
                BillingProfile.objects.filter(organization=found.organization).update(
                    paystack_email_token=info.email_token
                )
    return found


@transaction.atomic
def subscription_sync(
    *, provider: PaymentProvider, subscription_id: str, payment_failed: bool = False
) -> Subscription | None:
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
        if (
            info.current_period_end
            and info.current_period_start
            and info.current_period_end != local.current_period_end
            and info.current_period_end > info.current_period_start
        ):
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
        if (
            profile.downgraded_from_id == local.pk
            and not Subscription.objects.filter(organization_id=org_id, status__in=LIVE_STATUSES).exists()
        ):
            local.status, local.past_due_since, local.canceled_at = SubscriptionStatus.ACTIVE, None, None
            if (
                info.current_period_end
                and info.current_period_start
                and info.current_period_end > info.current_period_start
            ):
                local.current_period_start, local.current_period_end = (
                    info.current_period_start,
                    info.current_period_end,
                )
            local.save()
            profile.downgraded_from = None
            profile.save(update_fields=["downgraded_from"])
            reason = "payment_recovered"
    if reason:
        subscription_changed(org_id, local, reason)
        if reason == "past_due":
            customer_event_emit(
                org_id=org_id,
                type="payment.failed",
                data={"subscription_id": local.pk, "plan": local.plan.code, "grace_days": settings.BILLING_GRACE_DAYS},
            )
            transaction.on_commit(lambda: dunning_email_send(org_id=org_id, kind="payment_failed"))
        elif reason == "payment_recovered":
            transaction.on_commit(lambda: dunning_email_send(org_id=org_id, kind="payment_recovered"))
    return local


@transaction.atomic
def subscriptions_end_canceled(*, now=None) -> int:
    """Subscriptions set to cancel at period end whose period is over become canceled (the
    provider's own event normally does this first; this is the safety net)."""
    now = now or timezone.now()
    ended = list(
        Subscription.objects.select_for_update().filter(
            status__in=LIVE_STATUSES, cancel_at_period_end=True, current_period_end__lte=now
        )
    )
    for sub in ended:
        sub.status, sub.canceled_at = SubscriptionStatus.CANCELED, now
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        subscription_changed(sub.organization_id, sub, "canceled")
    return len(ended)


# --- portal actions -------------------------------------------------------------------------
def subscription_cancel(*, org: Organization) -> Subscription:
    """Cancel the live paid subscription at the end of the period (access until then)."""
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES).first()
    if sub is None or not sub.provider:
        raise Conflict("There is no paid subscription to cancel.")
    provider = provider_get(sub.provider)
    provider.cancel_subscription(
        subscription_id=sub.provider_subscription_id,
        email_token=profile_for(org).paystack_email_token,
        at_period_end=True,
    )
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        if not sub.cancel_at_period_end:
            sub.cancel_at_period_end = True
            sub.save(update_fields=["cancel_at_period_end", "updated_at"])
            subscription_changed(org.pk, sub, "cancel_at_period_end")
    return sub


def subscription_resume(*, org: Organization) -> Subscription:
    """Keep the plan after all: undo a cancel-at-period-end before the period ends."""
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES, cancel_at_period_end=True).first()
    if sub is None or not sub.provider:
        raise Conflict("There is no canceled plan to resume.")
    provider_get(sub.provider).resume_subscription(
        subscription_id=sub.provider_subscription_id, email_token=profile_for(org).paystack_email_token
    )
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        if sub.cancel_at_period_end and sub.status in LIVE_STATUSES:
            sub.cancel_at_period_end = False
            sub.save(update_fields=["cancel_at_period_end", "updated_at"])
            subscription_changed(org.pk, sub, "resumed")
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
    sub = (
        Subscription.objects.select_related("plan", "price").filter(organization=org, status__in=LIVE_STATUSES).first()
    )
    if sub is None or not sub.provider or not sub.price:
        raise Conflict("Buy a plan first; plan changes apply to a paid subscription.")
    if sub.plan_id == plan.pk:
        raise Conflict(f"You are already on {plan.name}.")
    new_price = price_for(plan=plan, currency=sub.currency)
    upgrade = new_price.amount_minor > sub.price.amount_minor
    provider = provider_get(sub.provider)
    now = timezone.now()
    proration = proration_minor(
        old_minor=sub.price.amount_minor,
        new_minor=new_price.amount_minor,
        period_start=sub.current_period_start,
        period_end=sub.current_period_end,
        now=now,
    )
    charge_reference = ""
    if sub.provider == "paystack" and upgrade and proration > 0:
        charge_reference, proration = _upgrade_charge(
            org=org, sub=sub, provider=provider, price=new_price, amount=proration, now=now
        )
    try:
        info = provider.change_subscription_price(
            subscription_id=sub.provider_subscription_id, price=new_price, prorate=upgrade
        )
    except Problem as exc:
        if not charge_reference:
            raise
        # The plan did not change: the prorated charge is owed back (journaled, so a refund
        # that fails now is retried); a subscription that may have been created is canceled.
        log.warning("plan change of %s failed after charging %s: %s", sub, charge_reference, exc.detail)
        compensation_record(
            org_id=org.pk,
            provider=sub.provider,
            kind=CompensationKind.REFUND,
            reference=charge_reference,
            amount_minor=proration,
            currency=sub.currency,
            reason=f"upgrade to {plan.name} could not be applied: {exc.detail}",
        )
        if isinstance(exc, ProviderOutcomeUnknown) and new_price.paystack_plan_code and sub.provider_customer_id:
            compensation_record(
                org_id=org.pk,
                provider=sub.provider,
                kind=CompensationKind.SUBSCRIPTION_CANCEL,
                reference=f"strays:{sub.provider_customer_id}:{new_price.paystack_plan_code}:{charge_reference}",
                reason=f"upgrade to {plan.name} failed with an unknown outcome",
                data={"customer_id": sub.provider_customer_id, "price_ref": new_price.paystack_plan_code},
            )
        raise PlanChangeFailed(f"Your plan is unchanged ({exc.detail}); the prorated charge is refunded.") from exc
    if sub.provider == "stripe" and upgrade and info.latest_invoice_id:
        # Invoice what Stripe actually charged for the proration (it prorates to its own second).
        paid = provider.invoice_payment(invoice_id=info.latest_invoice_id)
        if paid is None or paid.amount_minor is None:
            raise PaymentNotConfirmed("Stripe did not confirm the prorated upgrade payment; your plan is unchanged.")
        proration = paid.amount_minor
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        old_plan = sub.plan
        sub.plan, sub.price, sub.cancel_at_period_end = plan, new_price, False
        sub.provider_subscription_id = info.id
        sub.save(update_fields=["plan", "price", "cancel_at_period_end", "provider_subscription_id", "updated_at"])
        if info.email_token:
            BillingProfile.objects.filter(organization=org).update(paystack_email_token=info.email_token)
        if info.superseded_id:  # the replaced subscription still renews at the provider
            compensation_record(
                org_id=org.pk,
                provider=sub.provider,
                kind=CompensationKind.SUBSCRIPTION_CANCEL,
                reference=info.superseded_id,
                reason=f"replaced by the change to {plan.name}",
            )
        if upgrade and proration > 0:
            end = sub.current_period_end
            invoice_for_payment(
                subscription=sub,
                provider=sub.provider,
                start=now,
                end=end,
                proration_minor=proration,
                payment_reference=charge_reference
                or info.latest_invoice_id
                or f"{info.id}-upgrade-{now:%Y%m%d%H%M%S%f}",
                description=f"Upgrade {old_plan.name} → {plan.name}, prorated {now:%d %b} – {end:%d %b %Y}",
            )
        subscription_changed(org.pk, sub, "upgraded" if upgrade else "downgraded")
    return sub


def _upgrade_charge(
    *, org: Organization, sub: Subscription, provider: PaymentProvider, price: Price, amount: int, now
) -> tuple[str, int]:
    """Charge a Paystack upgrade's proration to the saved card: (reference, amount charged)."""
    profile = profile_for(org)
    if not profile.paystack_authorization_code:
        raise PaymentNotConfirmed("No saved card to charge the upgrade to; buy the plan through checkout.")
    # Deterministic within the minute: a double-submitted upgrade reuses the reference, and
    # Paystack refuses the duplicate; the provider then verifies and reports the first charge.
    reference = f"tg_{org.pk}_upgrade_{sub.pk}_{price.pk}_{now:%Y%m%d%H%M}"
    try:
        charged = provider.charge_usage(
            customer_email=billing_contact_email(org=org),
            authorization_code=profile.paystack_authorization_code,
            amount_minor=amount,
            currency=sub.currency,
            reference=reference,
        )
    except ProviderOutcomeUnknown as exc:
        compensation_record(
            org_id=org.pk,
            provider=sub.provider,
            kind=CompensationKind.REFUND,
            reference=reference,
            amount_minor=amount,
            currency=sub.currency,
            data={"only_if_paid": True},
            reason="upgrade charge whose outcome was unknown; the plan was not changed",
        )
        raise PlanChangeFailed(
            "Paystack did not confirm the upgrade charge; your plan is unchanged and, if your "
            "card was charged, the charge is refunded automatically."
        ) from exc
    Payment.objects.get_or_create(
        provider=sub.provider,
        reference=charged.reference,
        defaults={"organization": org, "amount_minor": charged.amount_minor, "currency": charged.currency},
    )
    return charged.reference, amount if charged.amount_minor is None else charged.amount_minor


def portal_url(*, org: Organization, return_url: str) -> str:
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES).exclude(provider="").first()
    if sub is None:
        raise Conflict("There is no paid subscription to manage.")
    return provider_get(sub.provider).create_portal_session(
        customer_id=sub.provider_customer_id, subscription_id=sub.provider_subscription_id, return_url=return_url
    )
