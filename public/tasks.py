"""Periodic work of the public site (beat schedule: portal/settings.py, "beat: status probes")."""

from __future__ import annotations

from celery import shared_task

from public import status


# Runs every minute: it must end before the next one starts.
@shared_task(ignore_result=True, soft_time_limit=45, time_limit=55)
def status_probe_run() -> int:
    return sum(1 for r in status.status_probe_run() if r.ok)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def status_prune() -> int:
    return status.status_prune()
