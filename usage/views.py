"""HTML pages: the customer usage dashboard, its dashboard card, and the operator overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from portal.redis import redis_client

from accounts.permissions import role_required
from usage import ingest, selectors


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


@staff_member_required
def operator_overview(request):
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    context = {
        "revenue": selectors.operator_revenue(),
        "usage": selectors.operator_usage(since=today - timedelta(days=29), until=today + timedelta(days=1)),
        "pipeline": ingest.ingest_status(redis_client()),
    }
    return render(request, "usage/operator.html", context)
