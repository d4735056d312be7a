"""Celery tasks for API keys: the batched last-used write, the expiry notices, the sweep that
publishes key changes Redis missed and the hourly refresh of the known-digest set."""

from __future__ import annotations

from celery import shared_task

from keys.cache import known_digests_seed
from keys.services import api_keys_notify_expiring, api_keys_propagate_pending, api_keys_touch_last_used


@shared_task
def api_keys_touch_last_used_task() -> int:
    return api_keys_touch_last_used()


@shared_task
def api_keys_notify_expiring_task() -> int:
    return api_keys_notify_expiring()


@shared_task(ignore_result=True)
def api_keys_propagate_pending_task() -> int:
    return api_keys_propagate_pending()


@shared_task(ignore_result=True)
def api_keys_known_refresh_task() -> bool:
    return known_digests_seed()
