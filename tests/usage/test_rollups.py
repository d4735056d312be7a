"""Rollups are idempotent, merge exactly hour → day, and agree with the ledger and the
billing selector."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from django.db.models import Sum

from tests.usage.conftest import ingest, make_event
from usage import histogram
from usage.models import UsageRollup
from usage.rollups import rollup_range_recompute
from usage.selectors import billable_units_by_meter, usage_breakdown

DAY = datetime(2026, 10, 14, tzinfo=UTC)


def _mixed_events(org_id: int) -> list:
    events = []
    for i in range(60):
        events.append(
            make_event(
                org_id,
                at=DAY + timedelta(minutes=17 * i),
                status=(200, 201, 404, 500, 503)[i % 5],
                units=1 + i % 3,
                latency_ms=3 + i * 7.5,
                key=("tg_live_aaaa", "tg_live_bbbb")[i % 2],
                operation=("sms_send", "status_check")[i % 2],
                meter=("sms.sent", "delivery.check")[i % 2],
                request_id=f"r{i}",
            )
        )
    events += [
        make_event(org_id, at=DAY + timedelta(hours=2), mode="test", key="tg_test_cccc", units=5, request_id="t")
    ]
    return events


def _snapshot(org_id: int) -> list[tuple]:
    return list(
        UsageRollup.objects.filter(org_id=org_id)
        .order_by("granularity", "bucket_start", "api_key_prefix", "operation_id", "meter", "mode", "status_class")
        .values_list(
            "granularity",
            "bucket_start",
            "api_key_prefix",
            "operation_id",
            "meter",
            "mode",
            "status_class",
            "requests",
            "units",
            "billable_units",
            "errors",
            "latency_sum_ms",
            "latency_hist",
        )
    )


def test_recomputing_rollups_twice_gives_identical_rows(db, redis_client, org):
    ingest(redis_client, _mixed_events(org.pk))
    first = _snapshot(org.pk)
    assert first
    rollup_range_recompute(start=DAY, end=DAY + timedelta(days=1))
    rollup_range_recompute(start=DAY, end=DAY + timedelta(days=1))
    assert _snapshot(org.pk) == first


def test_daily_rows_are_the_exact_sum_of_hourly_rows(db, redis_client, org):
    ingest(redis_client, _mixed_events(org.pk))
    hours = UsageRollup.objects.filter(org_id=org.pk, granularity="hour")
    days = UsageRollup.objects.filter(org_id=org.pk, granularity="day")
    for field in ("requests", "units", "billable_units", "errors"):
        assert hours.aggregate(s=Sum(field))["s"] == days.aggregate(s=Sum(field))["s"]
    assert histogram.merge(*hours.values_list("latency_hist", flat=True)) == histogram.merge(
        *days.values_list("latency_hist", flat=True)
    )
    assert days.aggregate(s=Sum("requests"))["s"] == 61


def test_late_event_is_rolled_up_into_its_own_hour(db, redis_client, org):
    ingest(redis_client, _mixed_events(org.pk))
    before = usage_breakdown(org_id=org.pk, start=DAY, end=DAY + timedelta(days=1), granularity="day")[0]["requests"]
    ingest(redis_client, [make_event(org.pk, at=DAY + timedelta(hours=3, minutes=5), request_id="late")])
    after = usage_breakdown(org_id=org.pk, start=DAY, end=DAY + timedelta(days=1), granularity="day")[0]["requests"]
    assert after == before + 1


def test_histogram_percentiles_match_sql_buckets(db, redis_client, org):
    latencies = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0] * 10
    ingest(
        redis_client, [make_event(org.pk, at=DAY, latency_ms=ms, request_id=f"l{i}") for i, ms in enumerate(latencies)]
    )
    (hist,) = UsageRollup.objects.filter(org_id=org.pk, granularity="hour").values_list("latency_hist", flat=True)
    expected = [0] * histogram.N_BUCKETS
    for ms in latencies:
        expected[histogram.bucket_of(ms)] += 1
    assert hist == expected
    p95 = histogram.percentile(hist, 0.95)
    assert 500 * 0.85 <= p95 <= 1000 * 1.15


def test_billable_units_exclude_test_keys_and_server_errors_and_match_rollups(db, redis_client, org):
    events = _mixed_events(org.pk)
    ingest(redis_client, events)
    expected: dict[str, int] = {}
    for e in events:
        if e.mode == "live" and e.status < 500:
            expected[e.meter] = expected.get(e.meter, 0) + e.units
    assert billable_units_by_meter(org_id=org.pk, start=DAY, end=DAY + timedelta(days=1)) == expected
    rollup_billable = UsageRollup.objects.filter(org_id=org.pk, granularity="day").aggregate(s=Sum("billable_units"))[
        "s"
    ]
    assert rollup_billable == sum(expected.values())
    # Half-open: an event exactly at `end` belongs to the next period.
    assert billable_units_by_meter(org_id=org.pk, start=DAY, end=DAY) == {}


def test_csv_ledger_sums_to_rollups_and_to_billable_units(db, redis_client, org, member_client):
    events = _mixed_events(org.pk)
    ingest(redis_client, events)
    start, end = DAY, DAY + timedelta(days=1)
    response = member_client.get("/api/usage/ledger.csv", {"from": start.isoformat(), "to": end.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == len(events)
    billable: dict[str, int] = {}
    for row in rows:
        billable[row["meter"]] = billable.get(row["meter"], 0) + int(row["billable_units"])
    billable = {k: v for k, v in billable.items() if v}
    assert billable == billable_units_by_meter(org_id=org.pk, start=start, end=end)
    day_rows = UsageRollup.objects.filter(org_id=org.pk, granularity="day")
    assert sum(int(r["units"]) for r in rows) == day_rows.aggregate(s=Sum("units"))["s"]
    assert sum(billable.values()) == day_rows.aggregate(s=Sum("billable_units"))["s"]


def test_summary_rows_agree_with_the_full_rollup_for_every_dimension(db, redis_client, org):
    from usage.models import UsageSummary

    ingest(redis_client, _mixed_events(org.pk))
    for granularity in ("hour", "day"):
        full = UsageRollup.objects.filter(org_id=org.pk, granularity=granularity)
        for dimension, column in (
            ("all", None),
            ("key", "api_key_prefix"),
            ("operation", "operation_id"),
            ("status_class", "status_class"),
            ("meter", "meter"),
            ("mode", "mode"),
        ):
            summary = UsageSummary.objects.filter(org_id=org.pk, granularity=granularity, dimension=dimension)
            if column is None:
                assert summary.aggregate(s=Sum("requests"))["s"] == full.aggregate(s=Sum("requests"))["s"] == 61
                continue
            expected = {
                str(v): n for v, n in full.values_list(column).annotate(n=Sum("units")).values_list(column, "n")
            }
            assert dict(summary.values("value").annotate(n=Sum("units")).values_list("value", "n")) == expected
