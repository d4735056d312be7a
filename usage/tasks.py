"""Celery tasks: thin wrappers that call the pipeline, rollups and services. Work for every
organization fans out as one task per organization, so one slow or failing organization
neither delays nor stops the others and the work spreads over the usage workers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from redis.exceptions import LockError

from accounts.models import Organization
from portal.redis import redis_client
from usage import partitions, rollups, services
from usage.ingest.consumer import IngestConsumer
from usage.ingest.stream import DIRTY_KEY, stream_trim
from usage.selectors import calendar_month, quota_used_now

log = logging.getLogger(__name__)

DRAIN_LOCK = "usage:ingest:drain-lock"
ROLLUP_BATCH = 2000


# The drain's budget is USAGE_INGEST_DRAIN_SECONDS (8 s by default); its lock outlives it by 30 s.
@shared_task(
    ignore_result=True,
    soft_time_limit=settings.USAGE_INGEST_DRAIN_SECONDS + 20,
    time_limit=settings.USAGE_INGEST_DRAIN_SECONDS + 30,
)
def usage_ingest_drain() -> dict:
    """Drain the stream for at most USAGE_INGEST_DRAIN_SECONDS (beat runs this every 2 s).

    One drain at a time per deployment (a lock), so beat ticks never pile up; several
    ``manage.py usage_consumer`` processes may run alongside — the consumer group shares out
    the entries."""
    redis = redis_client()
    budget = settings.USAGE_INGEST_DRAIN_SECONDS
    # redis-py's Lock holds a token and releases by compare-and-delete, so a drain whose lock
    # expired never releases the lock a newer drain took over.
    lock = redis.lock(DRAIN_LOCK, timeout=budget + 30, blocking=False)
    if not lock.acquire():
        return {"skipped": True}
    try:
        result = IngestConsumer(redis).drain(seconds=budget)
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("usage drain outlived its lock; another drain holds it now")
    if result.entries:
        usage_rollup_dirty.delay()
    return {
        "entries": result.entries,
        "events": result.events,
        "inserted": result.inserted,
        "dead": result.dead,
        "retry": result.retry,
    }


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def usage_rollup_dirty() -> int:
    """Recompute the rollups of the (org, hour) slices the consumer wrote, then check the alerts
    of each organization in them (one task each)."""
    redis = redis_client()
    members = redis.spop(DIRTY_KEY, ROLLUP_BATCH) or []
    if not members:
        return 0
    slices = set()
    for member in members:
        org, hour = (member.decode() if isinstance(member, bytes) else member).split(":")
        slices.add((int(org), int(hour)))
    try:
        rollups.rollup_slices_recompute(slices=slices)
    except Exception:
        redis.sadd(DIRTY_KEY, *members)  # nothing lost: retried on the next tick
        raise
    # Events of a deleted organization are kept (billing record) but alert no one.
    for org_id in (
        Organization.objects.filter(pk__in={org for org, _ in slices}).order_by("pk").values_list("pk", flat=True)
    ):
        usage_alerts_check_org.delay(org_id)
    return len(slices)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def usage_alerts_check_org(org_id: int) -> int:
    """One organization's quota alerts; a failure is logged and retried by the next rollup."""
    try:
        return len(services.usage_alerts_check(org_id=org_id))
    except Exception:
        log.exception("usage alerts check failed for org %s", org_id)
        return 0


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def usage_rollup_recent() -> int:
    now = datetime.now(UTC)
    return rollups.rollup_range_recompute(start=now - timedelta(hours=2), end=now + timedelta(hours=1))


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def usage_partitions_ensure() -> list[str]:
    return partitions.partitions_ensure_ahead(now=datetime.now(UTC), months_ahead=2)


@shared_task(ignore_result=True, soft_time_limit=1200, time_limit=1260)
def usage_partitions_prune() -> list[str]:
    """Detach and drop the monthly event partitions older than USAGE_RETENTION_MONTHS whole
    months before the current one (0: keep everything)."""
    if not settings.USAGE_RETENTION_MONTHS:
        return []
    return partitions.partitions_prune(now=datetime.now(UTC), keep_months=settings.USAGE_RETENTION_MONTHS)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def usage_quota_drift_prune() -> int:
    """Delete quota-drift rows older than USAGE_QUOTA_DRIFT_RETENTION_DAYS (0: keep them)."""
    days = settings.USAGE_QUOTA_DRIFT_RETENTION_DAYS
    if not days:
        return 0
    return services.quota_drifts_prune(before=datetime.now(UTC) - timedelta(days=days))


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=60)
def usage_stream_trim() -> int:
    return stream_trim(redis_client())


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def usage_quota_reconcile() -> int:
    """From beat: one reconcile task per organization active this month."""
    start, end = calendar_month(datetime.now(UTC))
    active = rollups.orgs_with_events(start=start - timedelta(days=31), end=end)
    orgs = list(Organization.objects.filter(pk__in=active).order_by("pk").values_list("pk", flat=True))
    for org_id in orgs:
        usage_quota_reconcile_org.delay(org_id)
    return len(orgs)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def usage_quota_reconcile_org(org_id: int) -> bool:
    """Compare one organization's Redis quota counter with PostgreSQL; True when they agree."""
    drift = services.usage_quota_reconcile(org_id=org_id, redis_count=quota_used_now(org_id=org_id))
    return drift.drift == 0
