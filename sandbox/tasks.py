"""The sandbox's webhook delivery (Celery), retried like a provider retries a 5xx."""

from __future__ import annotations

import httpx
from celery import shared_task
from django.conf import settings
from django.test import Client


@shared_task(autoretry_for=(Exception,), retry_backoff=2, max_retries=5)
def sandbox_webhook_deliver(path: str, body: str, headers: dict) -> int:
    """The sandbox's webhook delivery to our own endpoint: over HTTP to SITE_URL when a server
    runs (``make run``), or in-process through Django's test client (tests)."""
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "none":  # tests that replay deliveries themselves
        return 0
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "inprocess":
        response = Client(raise_request_exception=True).post(
            path, data=body.encode(), content_type="application/json", headers=headers)
        status = response.status_code
    else:
        status = httpx.post(f"{settings.SITE_URL}{path}", content=body.encode(),
                            headers={**headers, "content-type": "application/json"}, timeout=10).status_code
    if status >= 500:
        raise RuntimeError(f"sandbox webhook to {path} answered {status}")
    return status
