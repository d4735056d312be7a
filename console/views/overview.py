"""The operator console: staff-only pages that read across billing and usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from billing.selectors import revenue_overview
from portal.redis import redis_client
from usage.ingest.stream import ingest_status
from usage.selectors_operator import operator_usage


@staff_member_required
def operator_overview(request):
    """MRR and revenue mix (billing), top customers and endpoints (usage), pipeline health."""
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    context = {
        "revenue": revenue_overview(),
        "usage": operator_usage(since=today - timedelta(days=29), until=today + timedelta(days=1)),
        "pipeline": ingest_status(redis_client()),
    }
    return render(request, "console/overview.html", context)
