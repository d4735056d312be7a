"""The sandbox's webhook delivery (Celery), retried like a provider retries a 5xx."""

from __future__ import annotations

import httpx
from celery import shared_task
from django.conf import settings
from django.test import Client

from sandbox.models import SandboxObject


# One HTTP call of at most 10 s; retries wait 2, 4, 8, 16, 32 s (with jitter: up to that).
@shared_task(autoretry_for=(Exception,), retry_backoff=2, max_retries=5, soft_time_limit=30, time_limit=40)
def sandbox_webhook_deliver(path: str, body: str, headers: dict, webhook_id: str = "") -> int:
    """The sandbox's webhook delivery to our own endpoint: over HTTP to SITE_URL when a server
    runs (``make run``; a 5xx is retried with backoff like the providers do), or in-process
    through Django's test client (tests: the answer is recorded on the stored webhook and
    ``sandbox.emit.webhooks_redeliver`` plays the provider's later retries)."""
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "none":  # tests that replay deliveries themselves
        return 0
    if settings.BILLING_SANDBOX_WEBHOOK_DELIVERY == "inprocess":
        response = Client(raise_request_exception=True).post(
            path, data=body.encode(), content_type="application/json", headers=headers
        )
        _record(webhook_id, response.status_code)
        return response.status_code
    status = httpx.post(
        f"{settings.SITE_URL}{path}",
        content=body.encode(),
        headers={**headers, "content-type": "application/json"},
        timeout=10,
    ).status_code
    _record(webhook_id, status)
    if status >= 500:
        raise RuntimeError(f"sandbox webhook to {path} answered {status}")
    return status


def _record(webhook_id: str, status: int) -> None:
    if not webhook_id:
        return
    row = SandboxObject.objects.filter(kind="webhook", object_id=webhook_id).first()
    if row is not None:
        row.data = {**row.data, "delivered_status": status, "attempts": row.data.get("attempts", 0) + 1}
        row.save(update_fields=["data"])
