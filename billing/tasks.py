"""Celery tasks: take ids, call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

log = logging.getLogger("billing.tasks")


@shared_task(bind=True, acks_late=True)
def webhook_delivery_attempt(self, delivery_id: int) -> str:
    """One attempt; on failure re-enqueue itself with exponential backoff (30 s … 12 h, 8 tries)."""
    from billing.models import DeliveryStatus
    from billing.outbound import backoff_seconds, delivery_attempt

    attempt = delivery_attempt(delivery_id=delivery_id)
    delivery = attempt.delivery
    if delivery.status == DeliveryStatus.RETRYING and not self.request.is_eager:
        self.apply_async(args=[delivery_id], countdown=backoff_seconds(delivery.attempt_count))
    return delivery.status


@shared_task
def dunning_expire_task() -> int:
    from billing.services import dunning_expire, subscriptions_end_canceled

    return dunning_expire() + subscriptions_end_canceled()


@shared_task
def invoices_close_periods_task() -> int:
    from billing.invoices import invoices_close_due

    return len(invoices_close_due())


@shared_task(autoretry_for=(Exception,), retry_backoff=2, max_retries=5)
def sandbox_webhook_deliver(path: str, body: str, headers: dict) -> int:
    """The sandbox's webhook delivery to our own endpoint: over HTTP to SITE_URL when a server
    runs (``make run``), or in-process through Django's test client (tests)."""
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "none":  # tests that replay deliveries themselves
        return 0
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "inprocess":
        from django.test import Client

        response = Client(raise_request_exception=True).post(
            path, data=body.encode(), content_type="application/json", headers=headers)
        status = response.status_code
    else:
        import httpx

        status = httpx.post(f"{settings.SITE_URL}{path}", content=body.encode(),
                            headers={**headers, "content-type": "application/json"}, timeout=10).status_code
    if status >= 500:
        raise RuntimeError(f"sandbox webhook to {path} answered {status}")
    return status
