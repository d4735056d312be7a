"""Celery tasks: take ids, call the delivery code."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webhooks.delivery import backoff_seconds, delivery_attempt
from webhooks.models import DeliveryStatus

# One attempt is bounded by WEBHOOKS_DELIVERY_TIMEOUT_SECONDS plus DNS resolution; the time
# limits are the backstop that frees the worker whatever hangs.
SOFT_TIME_LIMIT = settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS + 30
TIME_LIMIT = SOFT_TIME_LIMIT + 30


# The registered name predates this app: deliveries already queued (retries wait up to 12 h)
# must still find their task after a deploy.
@shared_task(bind=True, acks_late=True, name="billing.tasks.webhook_delivery_attempt",
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def webhook_delivery_attempt(self, delivery_id: int) -> str:
    """One attempt; on failure re-enqueue itself with exponential backoff (30 s … 12 h, 8 tries)."""
    attempt = delivery_attempt(delivery_id=delivery_id)
    delivery = attempt.delivery
    if delivery.status == DeliveryStatus.RETRYING and not self.request.is_eager:
        self.apply_async(args=[delivery_id], countdown=backoff_seconds(delivery.attempt_count))
    return delivery.status
