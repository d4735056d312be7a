"""HTML pages: the customer usage dashboard and its dashboard card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.shortcuts import render

from accounts.permissions import role_required
from usage import selectors


def _quota_context(org_id: int) -> dict:
    status = selectors.quota_status(org_id=org_id)
    return {
        "quota": status,
        "alerts": selectors.usage_alerts_for_period(org_id=org_id, period_start=status.period_start),
        "has_usage": selectors.org_has_usage(org_id=org_id),
    }


@role_required("view_usage")
def usage_dashboard(request):
    context = _quota_context(request.org.pk)
    now = datetime.now(UTC)
    context["last_24h"] = selectors.usage_breakdown(
        org_id=request.org.pk, start=now - timedelta(hours=24), end=now + timedelta(hours=1)
    )[0]
    return render(request, "usage/dashboard.html", context)


@role_required("view_usage")
def usage_card(request):
    context = _quota_context(request.org.pk)
    return render(request, "usage/card.html", context)
