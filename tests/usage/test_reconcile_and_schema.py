from __future__ import annotations

import logging
from datetime import UTC, datetime

from drf_spectacular.generators import SchemaGenerator

from tests.usage.conftest import ingest, make_event
from usage.models import QuotaDrift
from usage.services import usage_quota_reconcile


def test_reconciliation_stores_and_logs_drift(db, redis_client, org, free_plan, caplog):
    ingest(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(5)]
           + [make_event(org.pk, mode="test", request_id="t")])  # test keys do not use quota
    ok = usage_quota_reconcile(org_id=org.pk, redis_count=5)
    assert (ok.redis_count, ok.db_count, ok.drift) == (5, 5, 0)
    with caplog.at_level(logging.WARNING, logger="usage.services"):
        drifted = usage_quota_reconcile(org_id=org.pk, redis_count=7)
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
