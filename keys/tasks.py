"""Celery tasks for API keys: the batched last-used write and the expiry notices."""

from __future__ import annotations

from celery import shared_task

from keys.services import api_keys_notify_expiring, api_keys_touch_last_used


@shared_task
def api_keys_touch_last_used_task() -> int:
    return api_keys_touch_last_used()


@shared_task
def api_keys_notify_expiring_task() -> int:
    return api_keys_notify_expiring()
