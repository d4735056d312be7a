"""Reads for plans and subscriptions."""

from __future__ import annotations

from django.db.models import QuerySet

from plans.models import LIVE_STATUSES, Plan, Subscription

FREE_PLAN_CODE = "free"


def subscription_live(*, org_id: int) -> Subscription | None:
    """The organization's live (trialing/active/past_due) subscription, if any."""
    return (
        Subscription.objects.select_related("plan", "price")
        .filter(organization_id=org_id, status__in=LIVE_STATUSES)
        .first()
    )


def plan_for_org(*, org_id: int) -> Plan:
    """The plan whose limits apply now: the live subscription's, else Free."""
    subscription = subscription_live(org_id=org_id)
    return subscription.plan if subscription else Plan.objects.get(code=FREE_PLAN_CODE)


def plans_public() -> QuerySet[Plan]:
    return Plan.objects.filter(is_public=True, is_active=True).prefetch_related("prices", "meter_prices__meter")
