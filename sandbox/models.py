"""State of the local payment-provider test double."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from sandbox.config import PROVIDERS


class SandboxObject(models.Model):
    """One JSON object per provider id (customers, sessions, subscriptions, sent webhooks…).

    Lives in the database so the web process, the Celery worker and tests all see the same
    fake Stripe/Paystack account."""

    provider = models.CharField(max_length=16, choices=PROVIDERS)
    kind = models.CharField(max_length=40)
    object_id = models.CharField(max_length=120)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "kind", "object_id"], name="sandboxobject_unique")]
