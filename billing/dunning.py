"""Dunning: e-mail the billing contacts when a payment fails, recovers or the grace period
ends, and move past-due subscriptions to Free after BILLING_GRACE_DAYS."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import billing_contacts
from billing.changes import subscription_changed
from billing.profiles import profile_for
from plans.models import Subscription, SubscriptionStatus
from portal.mail import email_send

log = logging.getLogger("billing")


def dunning_email_send(*, org_id: int, kind: str) -> None:
    """E-mail the billing contacts (``kind``: payment_failed, downgraded, payment_recovered)."""
    org = Organization.objects.get(pk=org_id)
    context = {
        "org": org,
        "kind": kind,
        "grace_days": settings.BILLING_GRACE_DAYS,
        "site_name": settings.SITE_NAME,
        "link": f"{settings.SITE_URL}{reverse('billing:overview')}",
    }
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
    expired = list(
        Subscription.objects.select_for_update()
        .select_related("plan")
        .filter(status=SubscriptionStatus.PAST_DUE, past_due_since__lte=cutoff)
    )
    for sub in expired:
        sub.status, sub.canceled_at = SubscriptionStatus.CANCELED, now
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        profile = profile_for(sub.organization)
        profile.downgraded_from = sub
        profile.save(update_fields=["downgraded_from"])
        subscription_changed(sub.organization_id, sub, "dunning_downgrade")
        transaction.on_commit(lambda o=sub.organization_id: dunning_email_send(org_id=o, kind="downgraded"))
    return len(expired)
