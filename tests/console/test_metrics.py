"""/metrics: who may read it, and the gauges it reads at scrape time from Redis and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from portal.task_runs import task_run_note
from tests.metrics_scrape import TOKEN, parse, scrape, value
from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY, GROUP, ensure_group


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_without_a_token_configured_there_is_no_endpoint(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_anonymous_and_wrong_token_are_refused_with_a_problem(client, token, db):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong-token"}, {"HTTP_AUTHORIZATION": TOKEN}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(response.content)["status"] == 401
        assert b"tollgate_" not in response.content


def test_the_token_reads_prometheus_text(client, token, db):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = parse(response.content.decode())
    for source in ("usage", "rollups", "tasks", "webhooks", "providers"):
        assert value(samples, "tollgate_health_source_up", source=source) == 1, source


def test_stream_gauges_follow_a_real_stream(client, token, db, redis_client):
    ensure_group(redis_client)
    for n in range(5):
        redis_client.xadd(STREAM_KEY, {STREAM_FIELD: json.dumps([{"n": n}])})
    samples = scrape(client)
    assert value(samples, "tollgate_usage_stream_length") == 5
    assert value(samples, "tollgate_usage_consumer_lag") == 5
    assert value(samples, "tollgate_usage_consumer_pending") == 0
    # A consumer reads two entries and acknowledges one: lag 3, pending 1.
    read = redis_client.xreadgroup(GROUP, "c1", {STREAM_KEY: ">"}, count=2)
    redis_client.xack(STREAM_KEY, GROUP, read[0][1][0][0])
    redis_client.xadd(DEAD_LETTER_KEY, {"entry_id": "1-1", "error": "boom", "payload": "[]"})
    samples = scrape(client)
    assert value(samples, "tollgate_usage_consumer_lag") == 3
    assert value(samples, "tollgate_usage_consumer_pending") == 1
    assert value(samples, "tollgate_usage_dead_letters") == 1


def test_a_failing_source_reports_down_and_the_scrape_still_succeeds(client, token, db, redis_client):
    redis_client.set(STREAM_KEY, "not a stream")  # XINFO GROUPS on a string: WRONGTYPE
    samples = scrape(client)
    assert value(samples, "tollgate_health_source_up", source="usage") == 0
    assert ("tollgate_usage_consumer_lag", frozenset()) not in samples
    assert value(samples, "tollgate_health_source_up", source="webhooks") == 1


def test_task_runs_and_rollup_lag_are_exported(client, token, db, org, redis_client):
    from usage.models import Granularity, UsageRollup

    task_run_note(task="usage.tasks.usage_ingest_drain", state="SUCCESS", at=1_700_000_000.0)
    bucket = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    UsageRollup.objects.create(
        granularity=Granularity.HOUR,
        bucket_start=bucket,
        org_id=org.pk,
        api_key_prefix="tg_live_x",
        operation_id="op",
        meter="",
        mode="live",
        status_class=2,
        requests=1,
        units=1,
        billable_units=1,
        errors=0,
        latency_sum_ms=1.0,
        latency_hist=[0] * 32,
    )
    samples = scrape(client)
    last_run = "tollgate_task_last_run_timestamp_seconds"
    assert value(samples, last_run, task="usage.tasks.usage_ingest_drain", state="SUCCESS") == 1_700_000_000.0
    lag = value(samples, "tollgate_usage_rollup_lag_seconds")
    assert 2 * 3600 <= lag < 3 * 3600
