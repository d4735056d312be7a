"""Customer-facing events (outbound webhooks): the contract other apps call.

``customer_event_emit`` records an event for an organization and enqueues signed deliveries
to every endpoint subscribed to its type (Standard Webhooks format, retried with backoff).
Implemented by the billing area (issue 5); callers: usage alerts (``usage.threshold_reached``),
keys (``key.expiring``), billing itself (``invoice.*``, ``payment.failed``, ``subscription.updated``).
"""

from __future__ import annotations

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
    # Deliveries arrive with issue 5; until then the event is accepted and dropped.
