"""The operator overview (staff; the console app and the public status page render it): top
customers and endpoints by requests, with error rates and p95, from the daily rollups (on the
read replica when one is configured)."""

from __future__ import annotations

from datetime import datetime

from django.db import connections
from django.db.models import Sum

from accounts.models import Organization
from portal.db import read_alias
from usage import histogram
from usage.models import Granularity, UsageSummary
from usage.selectors import _HIST_SUM


def operator_usage(*, since: datetime, until: datetime, limit: int = 10) -> dict:
    """Top customers and endpoints by requests, with error rates and p95 (daily rollups)."""
    alias = read_alias()
    qs = UsageSummary.objects.using(alias).filter(
        granularity=Granularity.DAY, dimension="all", bucket_start__gte=since, bucket_start__lt=until
    )
    customers = list(
        qs.values("org_id")
        .annotate(requests=Sum("requests"), units=Sum("units"), errors=Sum("errors"))
        .order_by("-requests")[:limit]
    )
    names = dict(
        Organization.objects.using(alias).filter(pk__in=[c["org_id"] for c in customers]).values_list("pk", "name")
    )
    for c in customers:
        c["name"] = names.get(c["org_id"], f"#{c['org_id']}")
        c["error_rate"] = round(c["errors"] / c["requests"], 4) if c["requests"] else 0.0
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT value, sum(requests), sum(errors), {_HIST_SUM} FROM usage_summary "
            "WHERE granularity = 'day' AND dimension = 'operation' AND bucket_start >= %s AND bucket_start < %s GROUP BY 1 ORDER BY 2 DESC LIMIT %s",  # noqa: E501
            [since, until, limit * 2],
        )
        rows = [
            {
                "operation": op,
                "requests": int(requests),
                "errors": int(errors),
                "error_rate": round(errors / requests, 4) if requests else 0.0,
                "p95_ms": histogram.percentile(hist, 0.95),
            }
            for op, requests, errors, hist in cursor.fetchall()
        ]
    total = qs.aggregate(requests=Sum("requests"), errors=Sum("errors"))
    return {
        "customers": customers,
        "endpoints": rows,
        "requests": total["requests"] or 0,
        "errors": total["errors"] or 0,
    }
