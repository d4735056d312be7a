"""Webhook endpoint writes, shared by the HTML pages and the REST API."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.models import Organization
from webhooks.delivery import OPEN_STATUSES, claim_expiry, secret_new, target_check
from webhooks.events import EVENT_TYPES
from webhooks.models import CustomerEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_delivery_attempt


def webhook_endpoint_create(
    *, org: Organization, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint (SSRF-checked: raises ``UnsafeTarget``) with a fresh signing secret."""
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}")
    target_check(url)
    return WebhookEndpoint.objects.create(
        organization=org, url=url, description=description, event_types=list(event_types), secret=secret_new()
    )


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``subscription.updated`` test event to this endpoint only (attempted at once)."""
    event = CustomerEvent.objects.create(
        organization_id=endpoint.organization_id,
        public_id=f"evt_{secrets.token_hex(12)}",
        type="subscription.updated",
        data={"test": True, "message": "Test event from Tollgate"},
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=claim_expiry())
    webhook_delivery_attempt.delay(delivery.pk, 0)
    delivery.refresh_from_db()
    return delivery


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """One more attempt now, whatever the delivery's state: a delivered or abandoned delivery
    is reopened for it (the customer asked), a retrying one is sent ahead of its backoff."""
    with transaction.atomic():  # waits for an attempt in progress to be recorded
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status not in OPEN_STATUSES:
            locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = claim_expiry()
        locked.save(update_fields=["status", "next_attempt_at"])
    webhook_delivery_attempt.delay(locked.pk, locked.attempt_count)
    delivery.refresh_from_db()
    return delivery
