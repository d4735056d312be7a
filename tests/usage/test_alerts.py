"""Quota alerts: 80 % and 100 %, exactly once per period each, email + customer webhook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from tests.usage.conftest import admit, ingest, make_event
from usage.models import UsageAlert
from usage.services import usage_alerts_check


@pytest.fixture
def emitted(monkeypatch):
    """Record calls to the customer-event contract (delivery is the webhooks app's concern)."""
    import usage.services

    calls = []
    monkeypatch.setattr(usage.services, "customer_event_emit", lambda **kw: calls.append(kw))
    return calls


def test_alerts_fire_once_per_threshold_per_period(
    db, redis_client, org, free_plan, emitted, django_capture_on_commit_callbacks
):
    free_plan.monthly_quota = 10
    free_plan.save()
    with django_capture_on_commit_callbacks(execute=True):
        admit(org.pk, 7)  # 70 %: nothing
        usage_alerts_check(org_id=org.pk)
    assert not UsageAlert.objects.exists() and not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        admit(org.pk, 1)  # 80 %
        usage_alerts_check(org_id=org.pk)
        admit(org.pk, 1)  # 90 %: still only the 80 % alert
        usage_alerts_check(org_id=org.pk)
    assert list(UsageAlert.objects.values_list("threshold", flat=True)) == [80]
    assert len(mail.outbox) == 1 and "80%" in mail.outbox[0].subject
    assert mail.outbox[0].alternatives and org.memberships.first().user.email in mail.outbox[0].to

    with django_capture_on_commit_callbacks(execute=True):
        admit(org.pk, 1)  # 100 %
        usage_alerts_check(org_id=org.pk)
        usage_alerts_check(org_id=org.pk)
    assert sorted(UsageAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    assert len(mail.outbox) == 2 and "whole monthly quota" in mail.outbox[1].subject
    assert [(c["type"], c["data"]["threshold_percent"]) for c in emitted] == [
        ("usage.threshold_reached", 80),
        ("usage.threshold_reached", 100),
    ]
    assert emitted[1]["org_id"] == org.pk and emitted[1]["data"]["quota"] == 10 and emitted[1]["data"]["used"] == 10


def test_the_rollup_task_checks_alerts_for_the_orgs_it_touched(
    db, redis_client, org, free_plan, emitted, django_capture_on_commit_callbacks
):
    free_plan.monthly_quota = 10
    free_plan.save()
    with django_capture_on_commit_callbacks(execute=True):
        admit(org.pk, 8)
        ingest(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(8)])
    assert list(UsageAlert.objects.values_list("threshold", flat=True)) == [80]
    assert len(emitted) == 1


def test_a_new_period_alerts_again(db, org, free_plan, emitted, django_capture_on_commit_callbacks):
    free_plan.monthly_quota = 10
    free_plan.save()
    with django_capture_on_commit_callbacks(execute=True):
        usage_alerts_check(org_id=org.pk, used=10, now=datetime(2026, 9, 10, tzinfo=UTC))
        usage_alerts_check(org_id=org.pk, used=10, now=datetime(2026, 10, 10, tzinfo=UTC))
    assert UsageAlert.objects.count() == 4
    assert len(emitted) == 4


def test_database_refuses_a_second_alert_for_the_same_period(db, org):
    fields = {
        "organization": org,
        "period_start": datetime(2026, 9, 1, tzinfo=UTC),
        "period_end": datetime(2026, 10, 1, tzinfo=UTC),
        "threshold": 80,
        "used": 8,
        "quota": 10,
    }
    UsageAlert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageAlert.objects.create(**fields)


def test_unlimited_plans_never_alert(db, org, free_plan):
    free_plan.monthly_quota = None
    free_plan.save()
    assert usage_alerts_check(org_id=org.pk, used=10**9) == []


def test_alert_is_shown_in_the_portal(member_client, org, free_plan, emitted):
    free_plan.monthly_quota = 10
    free_plan.save()
    usage_alerts_check(org_id=org.pk, used=9)
    assert "80% of this period" in member_client.get("/usage/").content.decode()
    assert "80% reached" in member_client.get("/usage/card/").content.decode()
