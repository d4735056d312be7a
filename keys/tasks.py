"""Celery tasks for API keys: the batched last-used write, the expiry notices (one task per
organization), the sweep that publishes key changes Redis missed and the hourly refresh of the
known-digest set."""

from __future__ import annotations

from celery import shared_task

from keys.cache import known_digests_seed
from keys.services import (
    api_keys_expiring_org_ids,
    api_keys_notify_expiring,
    api_keys_propagate_pending,
    api_keys_touch_last_used,
)


@shared_task(soft_time_limit=50, time_limit=60)
def api_keys_touch_last_used_task() -> int:
    return api_keys_touch_last_used()


@shared_task(soft_time_limit=60, time_limit=90)
def api_keys_notify_expiring_task() -> int:
    """From beat: one notice task per organization with a key about to stop working."""
    org_ids = api_keys_expiring_org_ids()
    for org_id in org_ids:
        api_keys_notify_expiring_org_task.delay(org_id)
    return len(org_ids)


@shared_task(soft_time_limit=120, time_limit=150)
def api_keys_notify_expiring_org_task(org_id: int) -> int:
    return api_keys_notify_expiring(org_id=org_id)


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def api_keys_propagate_pending_task() -> int:
    return api_keys_propagate_pending()


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def api_keys_known_refresh_task() -> bool:
    return known_digests_seed()
