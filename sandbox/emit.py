"""Signed webhooks out of the sandbox, as Stripe and Paystack sign and send them.

Each one is stored (kind ``webhook``, for replays in tests) and delivered after the current
transaction commits by the ``sandbox_webhook_deliver`` task.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.db import transaction

from sandbox import store
from sandbox.config import paystack_secret_key
from sandbox.models import SandboxObject
from sandbox.store import new_id, shape
from sandbox.tasks import sandbox_webhook_deliver


def _send(provider: str, path: str, body: str, headers: dict) -> None:
    webhook_id = new_id("wh_")
    store.put(provider, "webhook", webhook_id, {"path": path, "body": body, "headers": headers})
    transaction.on_commit(lambda: sandbox_webhook_deliver.delay(path, body, headers, webhook_id=webhook_id))


def webhooks_redeliver(provider: str) -> int:
    """Deliver again every webhook our endpoint has not accepted yet (answered 5xx or never
    reached), as the provider's retries would: what tests call instead of waiting hours."""
    pending = [
        (row.object_id, row.data)
        for row in SandboxObject.objects.filter(provider=provider, kind="webhook").order_by("id")
        if row.data.get("delivered_status", 0) < 200 or row.data["delivered_status"] >= 500
    ]
    for webhook_id, hook in pending:
        sandbox_webhook_deliver(hook["path"], hook["body"], hook["headers"], webhook_id=webhook_id)
    return len(pending)


def stripe_signature(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def paystack_signature(body: str | bytes, *, secret: str | None = None) -> str:
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new((secret or paystack_secret_key()).encode(), raw, hashlib.sha512).hexdigest()


def stripe_emit(event_type: str, obj: dict) -> dict:
    event = shape("stripe", "event") | {
        "id": new_id("evt_"),
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-08-27.basil",
        "data": {"object": obj},
        "pending_webhooks": 1,
    }
    body = json.dumps(event)
    _send("stripe", "/billing/webhooks/stripe/", body, {"Stripe-Signature": stripe_signature(body)})
    return event


def paystack_emit(event_type: str, data: dict) -> dict:
    event = {"event": event_type, "data": {k: v for k, v in data.items() if not k.endswith("_sandbox")}}
    body = json.dumps(event)
    _send("paystack", "/billing/webhooks/paystack/", body, {"x-paystack-signature": paystack_signature(body)})
    return event
