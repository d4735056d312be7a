"""Celery tasks: take ids, call the delivery code."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webhooks.delivery import deliveries_claim_due, delivery_attempt
from webhooks.retention import webhook_history_prune

# One attempt is bounded by WEBHOOKS_DELIVERY_TIMEOUT_SECONDS plus DNS resolution; the time
# limits are the backstop that frees the worker whatever hangs.
SOFT_TIME_LIMIT = settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS + 30
TIME_LIMIT = SOFT_TIME_LIMIT + 30


# The registered name predates this app: messages already queued must still find their task
# after a deploy (their ``attempt`` is None; see ``delivery_attempt``).
@shared_task(
    acks_late=True,
    name="billing.tasks.webhook_delivery_attempt",
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def webhook_delivery_attempt(delivery_id: int, attempt: int | None = None) -> str:
    """Make one attempt (number ``attempt + 1``) unless it was made already or is being made.
    Never re-enqueues itself: a failed attempt sets ``next_attempt_at`` and the sweeper below
    enqueues the next one when it is due (long countdowns outlive the broker's visibility
    timeout and come back as duplicates)."""
    made = delivery_attempt(delivery_id=delivery_id, expected_attempts=attempt)
    return "skipped" if made is None else made.delivery.status


@shared_task(soft_time_limit=60, time_limit=90)
def webhook_deliveries_sweep() -> int:
    """From beat: enqueue every delivery whose next attempt is due, after the claim commits
    (a worker that got the message first would find the row still locked and skip it)."""
    due = deliveries_claim_due()
    for delivery_id, attempts_made in due:
        webhook_delivery_attempt.delay(delivery_id, attempts_made)
    return len(due)


@shared_task(soft_time_limit=1800, time_limit=1900)
def webhook_history_prune_task() -> dict[str, int]:
    """Daily, from beat: delete webhook history older than WEBHOOKS_RETENTION_DAYS."""
    return webhook_history_prune()
