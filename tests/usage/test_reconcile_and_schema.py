from __future__ import annotations

import logging
from datetime import UTC, datetime

from drf_spectacular.generators import SchemaGenerator

from tests.usage.conftest import admit, ingest, make_event
from usage.limiter import quota_used
from usage.models import QuotaDrift
from usage.services import usage_quota_reconcile


def test_reconciliation_stores_and_logs_drift(db, redis_client, org, free_plan, caplog):
    admit(org.pk, 6)  # admitted first: the period's counter exists before their events are stored
    ingest(
        redis_client,
        [make_event(org.pk, request_id=f"r{i}") for i in range(5)] + [make_event(org.pk, mode="test", request_id="t")],
    )  # test-key calls are admitted (and counted) too
    ok = usage_quota_reconcile(org_id=org.pk, redis_count=quota_used(org_id=org.pk))
    assert (ok.redis_count, ok.db_count, ok.drift) == (6, 6, 0)
    with caplog.at_level(logging.WARNING, logger="usage.services"):
        drifted = usage_quota_reconcile(org_id=org.pk, redis_count=8)
    assert drifted.drift == 2
    assert "drift +2" in caplog.text
    assert QuotaDrift.objects.filter(organization=org).count() == 2


def test_reconciliation_counts_only_the_current_period(db, redis_client, org, free_plan):
    ingest(redis_client, [make_event(org.pk, at=datetime(2020, 1, 5, tzinfo=UTC), request_id="old")])
    assert usage_quota_reconcile(org_id=org.pk, redis_count=0).db_count == 0


def test_openapi_documents_the_usage_api(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    get = schema["paths"]["/api/usage/"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"from", "to", "granularity", "key", "operation", "group_by", "window"} <= names
    assert "/api/usage/ledger.csv" in schema["paths"]
    assert "/api/usage/quota/" in schema["paths"]


def test_reconcile_task_reads_the_hot_path_counters(db, redis_client, org, free_plan):
    from usage.tasks import usage_quota_reconcile as task

    admit(org.pk, 4)  # one admitted request whose event is still in flight
    ingest(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(3)])
    assert task() >= 1
    drift = QuotaDrift.objects.get(organization=org)
    assert (drift.redis_count, drift.db_count, drift.drift) == (4, 3, 1)


def test_events_of_a_deleted_organization_neither_alert_nor_break_reconciliation(db, redis_client, org, free_plan):
    from usage.tasks import usage_quota_reconcile as task

    ingest(redis_client, [make_event(987654, request_id="ghost")])  # no such organization
    ingest(redis_client, [make_event(org.pk, request_id="real")])
    admit(org.pk, 1)
    task()
    assert list(QuotaDrift.objects.values_list("organization_id", flat=True)) == [org.pk]
