"""Reads for plans and subscriptions."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

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


def current_period(*, org_id: int, now=None) -> tuple[datetime, datetime]:
    """The organization's current quota period: the live subscription's (rolled forward by
    whole months if billing has not renewed it yet), else the UTC calendar month."""
    now = now or timezone.now()
    subscription = subscription_live(org_id=org_id)
    if subscription is None:
        start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    start, end = subscription.current_period_start, subscription.current_period_end
    months = 0
    while end <= now and months < 1200:
        months += 1
        start, end = end, _add_months(subscription.current_period_start, months + 1)
    return start, end


def _add_months(value: datetime, months: int) -> datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def entitlements_for_org(*, org_id: int, now=None) -> dict:
    """What the hot path enforces for the organization now (see usage/limiter.py)."""
    plan = plan_for_org(org_id=org_id)
    start, end = current_period(org_id=org_id, now=now)
    return {
        "plan": plan.code,
        "rps": plan.rate_per_second,
        "rpm": plan.rate_per_minute,
        "quota": plan.monthly_quota,
        "policy": plan.overage_policy,
        "grace": plan.grace_percent,
        "pstart": int(start.timestamp()),
        "pend": int(end.timestamp()),
    }
