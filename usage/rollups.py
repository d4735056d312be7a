"""Rollups: hourly from raw events, daily from hourly rows — idempotent recomputation.

A *slice* is (granularity, bucket, org). Recomputing a slice deletes its rows and inserts
them again from the source in one transaction, so running it twice (or concurrently with
itself, thanks to the advisory lock) gives the same rows. Daily rows are sums of hourly
rows (counts, units, histogram buckets element-wise), which is exact because the latency
histogram has fixed bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from usage.histogram import N_BUCKETS, sql_bounds_literal

DIMS = "org_id, api_key_prefix, operation_id, meter, mode"

_HOUR_SQL = f"""
INSERT INTO usage_rollup (granularity, bucket_start, {DIMS}, status_class, requests, units,
                          billable_units, errors, latency_sum_ms, latency_hist)
SELECT 'hour', %(start)s, {DIMS}, status_class, count(*), sum(units),
       coalesce(sum(units) FILTER (WHERE mode = 'live' AND status < 500), 0),
       count(*) FILTER (WHERE status >= 500), sum(latency_ms),
       ARRAY[{", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(N_BUCKETS))}]::int[]
FROM (
    SELECT {DIMS}, status, units, latency_ms, (status / 100)::smallint AS status_class,
           width_bucket(latency_ms, {sql_bounds_literal()}) AS b
    FROM usage_event
    WHERE org_id = ANY(%(orgs)s) AND occurred_at >= %(start)s AND occurred_at < %(end)s
) e
GROUP BY {DIMS}, status_class
"""

_DAY_SQL = f"""
INSERT INTO usage_rollup (granularity, bucket_start, {DIMS}, status_class, requests, units,
                          billable_units, errors, latency_sum_ms, latency_hist)
SELECT 'day', %(start)s, {DIMS}, status_class, sum(requests), sum(units), sum(billable_units),
       sum(errors), sum(latency_sum_ms),
       ARRAY[{", ".join(f"sum(latency_hist[{i + 1}])" for i in range(N_BUCKETS))}]::int[]
FROM usage_rollup
WHERE granularity = 'hour' AND org_id = ANY(%(orgs)s) AND bucket_start >= %(start)s AND bucket_start < %(end)s
GROUP BY {DIMS}, status_class
"""


_DIMENSIONS = {
    "key": "api_key_prefix",
    "operation": "operation_id",
    "status_class": "status_class::text",
    "meter": "meter",
    "mode": "mode",
}
_SUMMARY_SQL = f"""
INSERT INTO usage_summary (granularity, bucket_start, org_id, dimension, value, requests, units, billable_units,
                           errors, latency_sum_ms, latency_hist)
SELECT %(granularity)s, %(start)s, org_id,
       CASE {" ".join(f"WHEN GROUPING({col}) = 0 THEN '{dim}'" for dim, col in _DIMENSIONS.items())} ELSE 'all' END,
       coalesce({", ".join(col for col in _DIMENSIONS.values())}, ''),
       sum(requests), sum(units), sum(billable_units), sum(errors), sum(latency_sum_ms),
       ARRAY[{", ".join(f"sum(latency_hist[{i + 1}])" for i in range(N_BUCKETS))}]::int[]
FROM usage_rollup
WHERE granularity = %(granularity)s AND bucket_start = %(start)s AND org_id = ANY(%(orgs)s)
GROUP BY GROUPING SETS ({", ".join(f"(org_id, {col})" for col in _DIMENSIONS.values())}, (org_id))
"""


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def rollup_hour_recompute(*, hour: datetime, org_ids: list[int]) -> None:
    """Recompute the hourly rows of ``org_ids`` for the hour starting at ``hour``."""
    start = hour_floor(hour)
    _replace("hour", start, start + timedelta(hours=1), org_ids, _HOUR_SQL)


@transaction.atomic
def rollup_day_recompute(*, day: datetime, org_ids: list[int]) -> None:
    """Recompute the daily rows of ``org_ids`` from their hourly rows."""
    start = day_floor(day)
    _replace("day", start, start + timedelta(days=1), org_ids, _DAY_SQL)


def _replace(granularity: str, start: datetime, end: datetime, org_ids: list[int], sql: str) -> None:
    org_ids = sorted({int(o) for o in org_ids})
    if not org_ids:
        return
    with connection.cursor() as cursor:
        # Serialize recomputations of the same bucket (two workers would otherwise both
        # delete, then both insert → duplicate-key error).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"usage_rollup:{granularity}:{start.isoformat()}"]
        )
        cursor.execute(
            "DELETE FROM usage_rollup WHERE granularity = %s AND bucket_start = %s AND org_id = ANY(%s)",
            [granularity, start, org_ids],
        )
        cursor.execute(sql, {"start": start, "end": end, "orgs": org_ids})
        cursor.execute(
            "DELETE FROM usage_summary WHERE granularity = %s AND bucket_start = %s AND org_id = ANY(%s)",
            [granularity, start, org_ids],
        )
        cursor.execute(_SUMMARY_SQL, {"granularity": granularity, "start": start, "orgs": org_ids})


def rollup_slices_recompute(*, slices: set[tuple[int, int]]) -> None:
    """Recompute (org_id, epoch_hour) slices, then the days containing them."""
    by_hour: dict[int, set[int]] = {}
    by_day: dict[datetime, set[int]] = {}
    for org_id, epoch_hour in slices:
        by_hour.setdefault(epoch_hour, set()).add(org_id)
        hour = datetime.fromtimestamp(epoch_hour * 3600, tz=UTC)
        by_day.setdefault(day_floor(hour), set()).add(org_id)
    for epoch_hour, orgs in sorted(by_hour.items()):
        rollup_hour_recompute(hour=datetime.fromtimestamp(epoch_hour * 3600, tz=UTC), org_ids=list(orgs))
    for day, orgs in sorted(by_day.items()):
        rollup_day_recompute(day=day, org_ids=list(orgs))


def orgs_with_events(*, start: datetime, end: datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT org_id FROM usage_event WHERE occurred_at >= %s AND occurred_at < %s", [start, end]
        )
        return [row[0] for row in cursor.fetchall()]


def rollup_range_recompute(*, start: datetime, end: datetime, org_ids: list[int] | None = None) -> int:
    """Recompute every hour and day overlapping [start, end) (bench, backfill, safety net)."""
    hour = hour_floor(start)
    orgs = org_ids if org_ids is not None else orgs_with_events(start=hour, end=end)
    # Include orgs that have stale rollups but no events any more.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT org_id FROM usage_rollup WHERE bucket_start >= %s AND bucket_start < %s",
            [day_floor(start), end],
        )
        orgs = sorted(set(orgs) | {row[0] for row in cursor.fetchall()}) if org_ids is None else orgs
    hours = 0
    while hour < end:
        rollup_hour_recompute(hour=hour, org_ids=orgs)
        hour += timedelta(hours=1)
        hours += 1
    day = day_floor(start)
    while day < end:
        rollup_day_recompute(day=day, org_ids=orgs)
        day += timedelta(days=1)
    return hours
