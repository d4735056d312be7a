"""Work for every organization fans out on the usage queue: the quota reconciliation and the
alert checks after a rollup enqueue one task per organization, and each does its own."""

from __future__ import annotations

from tests.broker import published
from tests.usage.conftest import admit, ingest, make_event
from usage.models import QuotaDrift, UsageAlert
from usage.tasks import usage_alerts_check_org, usage_quota_reconcile, usage_quota_reconcile_org


def _enqueued(messages, task) -> list[tuple[str, list]]:
    return sorted((queue, args) for queue, name, args in messages() if name == task.name)


def test_reconcile_enqueues_one_task_per_active_organization_and_each_reconciles_its_own(
    db, redis_client, org, other_org, free_plan
):
    admit(org.pk, 3)
    admit(other_org.pk, 2)
    ingest(redis_client, [make_event(org.pk, request_id=f"a{i}") for i in range(3)])
    ingest(redis_client, [make_event(other_org.pk, request_id="b")])  # one of two still in flight: drift

    with published() as messages:
        assert usage_quota_reconcile() == 2
        assert _enqueued(messages, usage_quota_reconcile_org) == sorted(
            [("usage", [org.pk]), ("usage", [other_org.pk])]
        )
    assert not QuotaDrift.objects.exists()

    assert usage_quota_reconcile_org(org.pk) is True
    assert usage_quota_reconcile_org(other_org.pk) is False
    drifts = {d.organization_id: (d.redis_count, d.db_count) for d in QuotaDrift.objects.all()}
    assert drifts == {org.pk: (3, 3), other_org.pk: (2, 1)}


def test_rollup_enqueues_one_alert_check_per_organization_and_each_alerts_its_own(
    db, redis_client, org, other_org, free_plan
):
    admit(org.pk, 95)  # 95 of the free plan's 100
    with published() as messages:
        ingest(redis_client, [make_event(org.pk, request_id="a"), make_event(other_org.pk, request_id="b")])
        assert _enqueued(messages, usage_alerts_check_org) == sorted([("usage", [org.pk]), ("usage", [other_org.pk])])
    assert not UsageAlert.objects.exists()

    assert usage_alerts_check_org(org.pk) >= 1
    assert usage_alerts_check_org(other_org.pk) == 0
    assert set(UsageAlert.objects.values_list("organization_id", flat=True)) == {org.pk}
