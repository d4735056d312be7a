"""Writes for usage: quota alerts, quota reconciliation and its retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from accounts.models import Organization
from accounts.selectors import billing_contacts
from portal.mail import email_send
from usage.models import QuotaDrift, UsageAlert
from usage.selectors import quota_status, requests_in_period_db, usage_period_for_org
from webhooks.events import customer_event_emit

log = logging.getLogger(__name__)

PRUNE_BATCH = 5000


def usage_alerts_check(*, org_id: int, now: datetime | None = None, used: int | None = None) -> list[UsageAlert]:
    """Record (once per period and threshold) every quota threshold the organization has
    reached, and send its email and customer webhook after commit. Returns new alerts.

    The ``usage_alert_once_per_period`` unique constraint is what makes "exactly once" hold
    when two workers check the same organization at the same time.
    """
    status = quota_status(org_id=org_id, now=now, used=used)
    if not status.quota:
        return []
    created = []
    for threshold in settings.USAGE_ALERT_THRESHOLDS:
        if status.used * 100 < threshold * status.quota:
            continue
        with transaction.atomic():
            alert, was_created = UsageAlert.objects.get_or_create(
                organization_id=org_id,
                period_start=status.period_start,
                threshold=threshold,
                defaults={"period_end": status.period_end, "used": status.used, "quota": status.quota},
            )
            if was_created:
                created.append(alert)
                transaction.on_commit(lambda alert=alert: _alert_notify(alert))
    return created


def _alert_notify(alert: UsageAlert) -> None:
    org = Organization.objects.get(pk=alert.organization_id)
    data = {
        "threshold_percent": alert.threshold,
        "used": alert.used,
        "quota": alert.quota,
        "period_start": alert.period_start.isoformat(),
        "period_end": alert.period_end.isoformat(),
    }
    customer_event_emit(org_id=org.pk, type="usage.threshold_reached", data=data)
    recipients = billing_contacts(org=org)
    if not recipients:
        return
    context = {
        "org": org,
        "alert": alert,
        "site_url": settings.SITE_URL,
        "site_name": settings.SITE_NAME,
        "remaining": max(alert.quota - alert.used, 0),
    }
    email_send(template="usage_threshold", to=recipients, context=context)
    log.info("usage alert %s%% sent to org %s (%s recipients)", alert.threshold, org.pk, len(recipients))


def usage_quota_reconcile(*, org_id: int, redis_count: int, now: datetime | None = None) -> QuotaDrift:
    """Compare the hot path's Redis quota counter with PostgreSQL's count for the current
    period; store the result and log a warning when they differ."""
    now = now or datetime.now(UTC)
    start, _end = usage_period_for_org(org_id=org_id, now=now)
    db_count = requests_in_period_db(org_id=org_id, start=start, end=now)
    drift = QuotaDrift.objects.create(
        organization_id=org_id, period_start=start, redis_count=redis_count, db_count=db_count
    )
    if drift.drift:
        log.warning(
            "usage quota drift for org %s: redis=%s postgres=%s (drift %+d; events in flight count as drift)",
            org_id,
            redis_count,
            db_count,
            drift.drift,
        )
    return drift


def quota_drifts_prune(*, before: datetime) -> int:
    """Delete reconciliation results checked before ``before``, in small batches so a large
    backlog never holds one long transaction. Returns the rows deleted."""
    deleted = 0
    while True:
        batch = list(
            QuotaDrift.objects.filter(checked_at__lt=before).order_by("pk").values_list("pk", flat=True)[:PRUNE_BATCH]
        )
        if not batch:
            return deleted
        deleted += QuotaDrift.objects.filter(pk__in=batch).delete()[0]
