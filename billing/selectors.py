"""Billing reads, always scoped to one organization."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from billing.models import Invoice, Payment
from plans.models import LIVE_STATUSES, Interval, Plan, Subscription, SubscriptionStatus
from plans.selectors import plan_for_org, plans_public, subscription_live
from portal.money import round_minor


def invoices_for_org(*, org_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(organization_id=org_id).order_by("-period_start", "-id")


def invoice_get(*, org_id: int, number: str) -> Invoice:
    return get_object_or_404(Invoice.objects.prefetch_related("lines"), organization_id=org_id, number=number)


def payments_for_org(*, org_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(organization_id=org_id).order_by("-created_at")[:20]


def billing_overview(*, org) -> dict:
    subscription = subscription_live(org_id=org.pk)
    plan = plan_for_org(org_id=org.pk)
    choices = []
    for candidate in plans_public():
        price = next((p for p in candidate.prices.all() if p.currency == org.currency and p.interval == "month"), None)
        choices.append(
            {
                "plan": candidate,
                "price": price,
                "current": candidate.pk == plan.pk,
                "purchasable": bool(price and price.amount_minor > 0),
            }
        )
    return {"subscription": subscription, "plan": plan, "choices": choices}


# --- operator reads (across organizations; the console app renders them) ---------------------
def revenue_overview() -> dict:
    """Customers per plan, MRR per currency and the revenue mix per tier.

    MRR counts active and past-due subscriptions (trials pay nothing yet), with the price's
    amount normalized to a month (yearly ÷ 12, kept in minor units, rounded once per subscription
    with the money rule of ``portal.money``). Organizations without a live subscription are Free customers.
    """
    plans = {p.pk: p for p in Plan.objects.all()}
    tiers: dict[int, dict] = {}
    mrr: dict[str, int] = {}
    live = Subscription.objects.filter(status__in=LIVE_STATUSES).select_related("price")
    subscribed_orgs = set()
    for sub in live:
        subscribed_orgs.add(sub.organization_id)
        tier = tiers.setdefault(sub.plan_id, {"customers": 0, "mrr": {}})
        tier["customers"] += 1
        if sub.status == SubscriptionStatus.TRIALING or sub.price is None:
            continue
        amount = Decimal(sub.price.amount_minor)
        if sub.price.interval == Interval.YEAR:
            amount = Decimal(round_minor(amount / 12))
        currency = sub.price.currency
        tier["mrr"][currency] = tier["mrr"].get(currency, 0) + int(amount)
        mrr[currency] = mrr.get(currency, 0) + int(amount)
    free = next((p for p in plans.values() if p.code == "free"), None)
    free_count = Organization.objects.exclude(pk__in=subscribed_orgs).count()
    if free is not None:
        tiers.setdefault(free.pk, {"customers": 0, "mrr": {}})["customers"] += free_count
    rows = []
    for plan_id, tier in tiers.items():
        plan = plans[plan_id]
        currencies = tier["mrr"] or {}
        rows.append(
            {
                "plan": plan,
                "customers": tier["customers"],
                "revenue": [
                    {"currency": c, "amount_minor": a, "percent": round(100 * a / mrr[c], 1) if mrr.get(c) else 0.0}
                    for c, a in sorted(currencies.items())
                ],
            }
        )
    rows.sort(key=lambda r: (r["plan"].sort_order, r["plan"].pk))
    return {"tiers": rows, "mrr": dict(sorted(mrr.items())), "customers": sum(r["customers"] for r in rows)}
