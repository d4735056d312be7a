"""Billing reads, always scoped to one organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from billing.models import Invoice, Payment
from plans.selectors import plan_for_org, plans_public, subscription_live


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
        choices.append({"plan": candidate, "price": price, "current": candidate.pk == plan.pk,
                        "purchasable": bool(price and price.amount_minor > 0)})
    return {"subscription": subscription, "plan": plan, "choices": choices}

