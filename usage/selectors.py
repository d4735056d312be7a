"""Reads over usage. Dashboards and the usage API read rollups; billing and the CSV ledger
read the raw event ledger (the billing record), so they agree to the unit.

Contract used by billing:

    billable_units_by_meter(*, org_id, start, end) -> dict[str, int]

returns, per meter code, the units of the organization's billable events with
``start <= occurred_at < end`` — the same numbers the CSV usage ledger for that period sums
to. **Billable** = made with a *live* key and *served*: status < 500. Client errors (4xx)
were served and count; server errors (5xx) are our fault and are free. Requests refused by
the rate limiter or quota are never recorded, so they never appear.

The dashboard reads (series, breakdowns, key names) go to the read replica when one is
configured (``portal.db.read_alias``); billing, the ledger and the quota stay on the primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, connections, transaction

from keys.models import ApiKey
from plans.selectors import current_period, plan_for_org
from portal.db import read_alias
from usage import histogram
from usage.limiter import quota_used
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
    "occurred_at",
    "event_id",
    "request_id",
    "api_key_prefix",
    "mode",
    "operation_id",
    "method",
    "status",
    "meter",
    "units",
    "billable_units",
    "latency_ms",
)


def usage_ledger(*, org_id: int, start: datetime, end: datetime, chunk: int = 5000) -> Iterator[tuple]:
    """The per-request ledger of one organization, oldest first, streamed with a server-side
    cursor (constant memory for any period)."""
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
    """The current quota/billing period — the same one the hot path counts the quota in."""
    return current_period(org_id=org_id, now=now)


def requests_in_period_db(*, org_id: int, start: datetime, end: datetime) -> int:
    """Requests recorded in PostgreSQL, live and test keys alike: what the hot path's quota
    counter (which counts every admitted request) should agree with."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM usage_event WHERE org_id = %s AND occurred_at >= %s AND occurred_at < %s",
            [org_id, start, end],
        )
        return cursor.fetchone()[0]


def quota_used_now(*, org_id: int) -> int:
    """Requests counted against this period's quota: the hot path's Redis counter."""
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
    now = now or datetime.now(UTC)
    start, end = usage_period_for_org(org_id=org_id, now=now)
    plan = plan_for_org(org_id=org_id)
    if used is None:
        used = quota_used_now(org_id=org_id)
    elapsed = max((now - start).total_seconds(), 3600.0)
    projected = round(used * (end - start).total_seconds() / elapsed)
    return QuotaStatus(period_start=start, period_end=end, quota=plan.monthly_quota, used=used, projected=projected)


# --- rollup reads (dashboard, usage API) ---------------------------------------------------
GROUPS = {"key": "api_key_prefix", "operation": "operation_id", "status_class": "status_class", "meter": "meter"}


def _source(
    *,
    org_id: int,
    start: datetime,
    end: datetime,
    granularity: str,
    key: str | None,
    operation: str | None,
    group_by: str | None,
) -> tuple[str, str, str, list]:
    """(table, group expression, WHERE clause, params) for a rollup read.

    Unfiltered reads use ``usage_summary`` (one dimension per row: small); a key or operation
    filter needs the full-dimension ``usage_rollup``, already narrowed by the filter."""
    where = ["org_id = %s", "granularity = %s", "bucket_start >= %s", "bucket_start < %s"]
    params: list = [org_id, granularity, start, end]
    if not key and not operation:
        where.append("dimension = %s")
        params.append(group_by or "all")
        return "usage_summary", ("value" if group_by else "'all'"), " AND ".join(where), params
    if key:
        where.append("api_key_prefix = %s")
        params.append(key)
    if operation:
        where.append("operation_id = %s")
        params.append(operation)
    return "usage_rollup", (GROUPS[group_by] if group_by else "'all'"), " AND ".join(where), params


def usage_series(
    *,
    org_id: int,
    start: datetime,
    end: datetime,
    granularity: str = Granularity.HOUR,
    key: str | None = None,
    operation: str | None = None,
    group_by: str | None = None,
) -> list[dict]:
    """Requests, units and errors per bucket (and per group when ``group_by`` is given)."""
    table, dim, where, params = _source(
        org_id=org_id, start=start, end=end, granularity=granularity, key=key, operation=operation, group_by=group_by
    )
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            f"SELECT bucket_start, {dim}, sum(requests), sum(units), sum(billable_units), sum(errors) "
            f"FROM {table} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
            params,
        )
        rows = cursor.fetchall()
    out = []
    for bucket, group, requests, units, billable, errors in rows:
        item = {
            "bucket": bucket,
            "requests": int(requests),
            "units": int(units),
            "billable_units": int(billable),
            "errors": int(errors),
        }
        if group_by:
            item["group"] = str(group)
        out.append(item)
    return out


_HIST_SUM = "ARRAY[" + ", ".join(f"sum(latency_hist[{i + 1}])" for i in range(histogram.N_BUCKETS)) + "]::bigint[]"


def usage_breakdown(
    *,
    org_id: int,
    start: datetime,
    end: datetime,
    granularity: str = Granularity.HOUR,
    key: str | None = None,
    operation: str | None = None,
    group_by: str | None = None,
) -> list[dict]:
    """Totals (with p50/p95 from the merged histograms) per group, or one overall row.
    Aggregation, histogram merge included, happens in PostgreSQL."""
    table, dim, where, params = _source(
        org_id=org_id, start=start, end=end, granularity=granularity, key=key, operation=operation, group_by=group_by
    )
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            f"SELECT {dim}, sum(requests), sum(units), sum(billable_units), sum(errors), sum(latency_sum_ms), "
            f"{_HIST_SUM} FROM {table} WHERE {where} GROUP BY 1 ORDER BY 2 DESC",
            params,
        )
        rows = cursor.fetchall()
    out = [_breakdown_row(*row) for row in rows]
    if not group_by and not out:
        out.append(_breakdown_row("all", 0, 0, 0, 0, 0.0, [0] * histogram.N_BUCKETS))
    return out


def _breakdown_row(group, requests, units, billable, errors, latency_sum, hist) -> dict:
    requests, errors = int(requests), int(errors)
    return {
        "group": str(group),
        "requests": requests,
        "units": int(units),
        "billable_units": int(billable),
        "errors": errors,
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "latency_avg_ms": round(latency_sum / requests, 2) if requests else None,
        "latency_p50_ms": histogram.percentile(hist, 0.50),
        "latency_p95_ms": histogram.percentile(hist, 0.95),
    }


def key_names(*, org_id: int, prefixes: list[str]) -> dict[str, str]:
    """Visible key prefix → the key's name, for the organization's own keys only."""
    keys = ApiKey.objects.using(read_alias()).filter(organization_id=org_id, prefix__in=prefixes)
    return dict(keys.values_list("prefix", "name"))


def org_has_usage(*, org_id: int) -> bool:
    return UsageRollup.objects.using(read_alias()).filter(org_id=org_id).exists()


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
