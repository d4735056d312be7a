"""Reads over usage. Dashboards and the usage API read rollups; billing and the CSV ledger
read the raw event ledger (the billing record), so they agree to the unit.

Contract used by billing (issue 5):

    billable_units_by_meter(*, org_id, start, end) -> dict[str, int]

returns, per meter code, the units of the organization's billable events with
``start <= occurred_at < end`` — the same numbers the CSV usage ledger for that period sums
to. **Billable** = made with a *live* key and *served*: status < 500. Client errors (4xx)
were served and count; server errors (5xx) are our fault and are free. Requests refused by
the rate limiter or quota are never recorded, so they never appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Sum

from usage import histogram
from usage.models import Granularity, UsageAlert, UsageRollup

BILLABLE_SQL = "mode = 'live' AND status < 500"


def billable_units_by_meter(*, org_id: int, start: datetime, end: datetime) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT meter, sum(units) FROM usage_event WHERE org_id = %s AND occurred_at >= %s "
            f"AND occurred_at < %s AND {BILLABLE_SQL} GROUP BY meter ORDER BY meter",
            [org_id, start, end],
        )
        return {meter: int(units) for meter, units in cursor.fetchall()}


LEDGER_COLUMNS = (
    "occurred_at", "event_id", "request_id", "api_key_prefix", "mode", "operation_id", "method",
    "status", "meter", "units", "billable_units", "latency_ms",
)


def usage_ledger(*, org_id: int, start: datetime, end: datetime, chunk: int = 5000) -> Iterator[tuple]:
    """The per-request ledger of one organization, oldest first, streamed with a server-side
    cursor (constant memory for any period)."""
    from django.db import transaction

    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT occurred_at, replace(id::text, '-', ''), request_id, api_key_prefix, mode, operation_id, method, "
            f"status, meter, units, CASE WHEN {BILLABLE_SQL} THEN units ELSE 0 END, latency_ms "
            f"FROM usage_event WHERE org_id = %s AND occurred_at >= %s AND occurred_at < %s ORDER BY occurred_at, id",
            [org_id, start, end],
        )
        while rows := cursor.fetchmany(chunk):
            yield from rows


# --- periods and quota ---------------------------------------------------------------------
def calendar_month(now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def usage_period_for_org(*, org_id: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current billing period: the live subscription's, else the calendar month (UTC)."""
    from plans.selectors import subscription_live

    now = now or datetime.now(UTC)
    subscription = subscription_live(org_id=org_id)
    if subscription and subscription.current_period_start <= now < subscription.current_period_end:
        return subscription.current_period_start, subscription.current_period_end
    return calendar_month(now)


def requests_in_period_db(*, org_id: int, start: datetime, end: datetime) -> int:
    """Live requests recorded in PostgreSQL (what the Redis quota counter should agree with)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM usage_event WHERE org_id = %s AND occurred_at >= %s AND occurred_at < %s AND mode = 'live'",
            [org_id, start, end],
        )
        return cursor.fetchone()[0]


def quota_used_now(*, org_id: int) -> int:
    """Requests counted against this period's quota: the hot path's Redis counter."""
    from usage.limiter import quota_used  # issue 3's hot-path module

    return int(quota_used(org_id=org_id))


@dataclass
class QuotaStatus:
    period_start: datetime
    period_end: datetime
    quota: int | None
    used: int
    projected: int

    @property
    def remaining(self) -> int | None:
        return None if self.quota is None else max(self.quota - self.used, 0)

    @property
    def percent(self) -> float | None:
        return None if not self.quota else round(100 * self.used / self.quota, 1)


def quota_status(*, org_id: int, now: datetime | None = None, used: int | None = None) -> QuotaStatus:
    from plans.selectors import plan_for_org

    now = now or datetime.now(UTC)
    start, end = usage_period_for_org(org_id=org_id, now=now)
    plan = plan_for_org(org_id=org_id)
    if used is None:
        try:
            used = quota_used_now(org_id=org_id)
        except ImportError:  # before the hot path exists: the database's count
            used = requests_in_period_db(org_id=org_id, start=start, end=now)
    elapsed = max((now - start).total_seconds(), 3600.0)
    projected = round(used * (end - start).total_seconds() / elapsed)
    return QuotaStatus(period_start=start, period_end=end, quota=plan.monthly_quota, used=used, projected=projected)


# --- rollup reads (dashboard, usage API) ---------------------------------------------------
GROUPS = {"key": "api_key_prefix", "operation": "operation_id", "status_class": "status_class", "meter": "meter"}


def _rollups(*, org_id: int, start: datetime, end: datetime, granularity: str, key: str | None = None,
             operation: str | None = None):
    qs = UsageRollup.objects.filter(org_id=org_id, granularity=granularity, bucket_start__gte=start, bucket_start__lt=end)
    if key:
        qs = qs.filter(api_key_prefix=key)
    if operation:
        qs = qs.filter(operation_id=operation)
    return qs


def usage_series(*, org_id: int, start: datetime, end: datetime, granularity: str = Granularity.HOUR,
                 key: str | None = None, operation: str | None = None, group_by: str | None = None) -> list[dict]:
    """Requests, units and errors per bucket (and per group when ``group_by`` is given)."""
    fields = ["bucket_start"] + ([GROUPS[group_by]] if group_by else [])
    rows = (
        _rollups(org_id=org_id, start=start, end=end, granularity=granularity, key=key, operation=operation)
        .values(*fields)
        .annotate(requests=Sum("requests"), units=Sum("units"), errors=Sum("errors"), billable_units=Sum("billable_units"))
        .order_by(*fields)
    )
    out = []
    for row in rows:
        item = {"bucket": row["bucket_start"], "requests": row["requests"], "units": row["units"],
                "billable_units": row["billable_units"], "errors": row["errors"]}
        if group_by:
            item["group"] = str(row[GROUPS[group_by]])
        out.append(item)
    return out


def usage_breakdown(*, org_id: int, start: datetime, end: datetime, granularity: str = Granularity.HOUR,
                    key: str | None = None, operation: str | None = None, group_by: str | None = None) -> list[dict]:
    """Totals (with p50/p95 from the merged histograms) per group, or one overall row."""
    dims = [GROUPS[group_by]] if group_by else []
    groups: dict[str, dict] = {}
    for row in _rollups(org_id=org_id, start=start, end=end, granularity=granularity, key=key, operation=operation).values_list(
        *dims, "requests", "units", "billable_units", "errors", "latency_sum_ms", "latency_hist"
    ):
        name = str(row[0]) if dims else "all"
        requests, units, billable, errors, latency_sum, hist = row[len(dims):]
        g = groups.setdefault(name, {"group": name, "requests": 0, "units": 0, "billable_units": 0, "errors": 0,
                                     "latency_sum_ms": 0.0, "hist": [0] * histogram.N_BUCKETS})
        g["requests"] += requests
        g["units"] += units
        g["billable_units"] += billable
        g["errors"] += errors
        g["latency_sum_ms"] += latency_sum
        g["hist"] = histogram.merge(g["hist"], hist)
    out = []
    for g in sorted(groups.values(), key=lambda g: -g["requests"]):
        hist = g.pop("hist")
        latency_sum = g.pop("latency_sum_ms")
        g["error_rate"] = round(g["errors"] / g["requests"], 4) if g["requests"] else 0.0
        g["latency_avg_ms"] = round(latency_sum / g["requests"], 2) if g["requests"] else None
        g["latency_p50_ms"] = histogram.percentile(hist, 0.50)
        g["latency_p95_ms"] = histogram.percentile(hist, 0.95)
        out.append(g)
    if not group_by and not out:
        out.append({"group": "all", "requests": 0, "units": 0, "billable_units": 0, "errors": 0, "error_rate": 0.0,
                    "latency_avg_ms": None, "latency_p50_ms": None, "latency_p95_ms": None})
    return out


def org_has_usage(*, org_id: int) -> bool:
    return UsageRollup.objects.filter(org_id=org_id).exists()


def usage_alerts_for_period(*, org_id: int, period_start: datetime) -> list[UsageAlert]:
    return list(UsageAlert.objects.filter(organization_id=org_id, period_start=period_start).order_by("threshold"))


def default_range(window: str, *, org_id: int, now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """(start, end, granularity) for the dashboard's window buttons: 24h, 7d, 30d, period."""
    now = now or datetime.now(UTC)
    end_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if window == "7d":
        return end_hour - timedelta(days=7), end_hour, Granularity.HOUR
    if window == "30d":
        end_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return end_day - timedelta(days=30), end_day, Granularity.DAY
    if window == "period":
        start, end = usage_period_for_org(org_id=org_id, now=now)
        return start, end, Granularity.DAY
    return end_hour - timedelta(hours=24), end_hour, Granularity.HOUR
