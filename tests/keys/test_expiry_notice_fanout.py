"""Expiry notices fan out: one task per organization with a key about to stop working, each
announcing only its own organization's keys."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from keys.models import ApiKey
from keys.services import api_key_create
from keys.tasks import api_keys_notify_expiring_org_task, api_keys_notify_expiring_task
from tests.broker import published
from tests.factories import MembershipFactory


def test_notice_task_enqueues_one_task_per_organization_and_each_notifies_its_own(org, other_org, user):
    MembershipFactory(user=user, organization=other_org)
    soon = timezone.now() + timedelta(days=3)
    mine = [api_key_create(org=org, user=user, name=f"k{i}", mode="live", expires_at=soon)[0] for i in range(2)]
    theirs, _ = api_key_create(org=other_org, user=user, name="t", mode="live", expires_at=soon)
    api_key_create(org=other_org, user=user, name="forever", mode="live")

    with published() as messages:
        assert api_keys_notify_expiring_task() == 2
        enqueued = [(queue, args) for queue, task, args in messages() if task == api_keys_notify_expiring_org_task.name]
    assert sorted(enqueued) == sorted([("celery", [org.pk]), ("celery", [other_org.pk])])
    assert not ApiKey.objects.filter(expiry_notified_at__isnull=False).exists()

    assert api_keys_notify_expiring_org_task(org.pk) == 2
    assert set(ApiKey.objects.filter(expiry_notified_at__isnull=False)) == set(mine)
    assert api_keys_notify_expiring_org_task(other_org.pk) == 1
    theirs.refresh_from_db()
    assert theirs.expiry_notified_at is not None
