"""Retention of the outbound webhook history: customer events, their deliveries and every
attempt are kept ``WEBHOOKS_RETENTION_DAYS`` and then deleted, so the tables stop growing.

Nothing a delivery still needs goes: an event with an open (pending or retrying) delivery is
kept whatever its age, with that delivery's attempts.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from webhooks.delivery import OPEN_STATUSES
from webhooks.models import CustomerEvent, DeliveryAttempt, WebhookDelivery

BATCH = 2000  # rows per DELETE: short transactions, no long lock on the tables


def webhook_history_prune() -> dict[str, int]:
    """Delete attempts of finished deliveries and finished events older than the horizon;
    returns how many attempts and events were deleted (deliveries go with their event)."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    attempts = DeliveryAttempt.objects.filter(attempted_at__lt=cutoff).exclude(delivery__status__in=OPEN_STATUSES)
    still_open = WebhookDelivery.objects.filter(event=OuterRef("pk"), status__in=OPEN_STATUSES)
    events = CustomerEvent.objects.filter(created_at__lt=cutoff).exclude(Exists(still_open))
    return {"attempts": _delete_in_batches(attempts), "events": _delete_in_batches(events)}


def _delete_in_batches(queryset: QuerySet) -> int:
    deleted = 0
    while ids := list(queryset.order_by().values_list("pk", flat=True)[:BATCH]):
        queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
