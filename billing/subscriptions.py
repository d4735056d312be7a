"""Subscription lifecycle after checkout: sync with the provider's view (webhooks), cancel
and resume, plan changes with proration, the provider's self-service portal.

Every change ends with ``subscription_changed`` (new limits on the hot path, a
``subscription.updated`` customer event).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from billing.changes import subscription_changed
from billing.dunning import dunning_email_send
from billing.models import BillingProfile
from billing.profiles import profile_for
from billing.providers import provider_get
from billing.providers.base import PaymentProvider, SubscriptionInfo
from plans.models import LIVE_STATUSES, Subscription, SubscriptionStatus
from portal.problems import Conflict
from webhooks.events import customer_event_emit

log = logging.getLogger("billing")


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


def portal_url(*, org: Organization, return_url: str) -> str:
    sub = Subscription.objects.filter(organization=org, status__in=LIVE_STATUSES).exclude(provider="").first()
    if sub is None:
        raise Conflict("There is no paid subscription to manage.")
    return provider_get(sub.provider).create_portal_session(
        customer_id=sub.provider_customer_id, subscription_id=sub.provider_subscription_id, return_url=return_url
    )
