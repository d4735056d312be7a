"""Customer-facing events (outbound webhooks): the contract other apps call.

``customer_event_emit`` records an event for an organization and enqueues signed deliveries
to every endpoint subscribed to its type (Standard Webhooks format, retried with backoff by
the sweeper in ``webhooks.tasks``).
Callers: usage alerts (``usage.threshold_reached``), keys (``key.expiring``), billing
(``invoice.*``, ``payment.failed``, ``subscription.updated``).
"""

from __future__ import annotations

import secrets

from django.db import transaction

from webhooks.delivery import claim_expiry
from webhooks.models import CustomerEvent, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_delivery_attempt

EVENT_TYPES = (
    "invoice.created",
    "invoice.paid",
    "payment.failed",
    "subscription.updated",
    "usage.threshold_reached",
    "key.expiring",
)


def customer_event_emit(*, org_id: int, type: str, data: dict) -> None:
    """Record the event and enqueue its deliveries (after the current transaction commits).

    Must be cheap and must not raise for an organization without endpoints.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown customer event type {type!r}")
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organization_id=org_id, is_active=True).only("id", "event_types")
        if not e.event_types or type in e.event_types
    ]
    if not endpoints:
        return  # nobody listens: nothing to store or send
    event = CustomerEvent.objects.create(
        organization_id=org_id, public_id=f"evt_{secrets.token_hex(12)}", type=type, data=data
    )
    # Claimed for the messages enqueued below: should they never run (lost message, broker
    # down, process gone before the commit hook), the sweeper sends them when the claim expires.
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint_id=e.pk, event=event, next_attempt_at=claim_expiry()) for e in endpoints]
    )

    def enqueue() -> None:
        for delivery in deliveries:
            webhook_delivery_attempt.delay(delivery.pk, 0)

    transaction.on_commit(enqueue)
