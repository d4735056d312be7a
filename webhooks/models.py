"""Customer webhook endpoints, the events that happened to an organization, and their
deliveries with every attempt."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Organization
from portal.crypto import EncryptedTextField


class WebhookEndpoint(models.Model):
    """A customer's HTTPS endpoint for Tollgate events (outbound webhooks)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=120, blank=True)
    event_types = models.JSONField(default=list)
    secret = EncryptedTextField(
        help_text="whsec_… signing secret, AES-256-GCM encrypted at rest.", purpose="webhook-endpoint-secret"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url


class CustomerEvent(models.Model):
    """An event that happened to an organization, delivered to its subscribed endpoints."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customer_events")
    public_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="webhooks_event_created_idx")]  # retention


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint. While it is open (pending or retrying), ``next_attempt_at``
    is when the sweeper enqueues its next attempt: after a failed attempt, the end of the
    backoff; once an attempt is enqueued, the expiry of that claim."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(CustomerEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's "open and due" scan.
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due_idx",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
        ]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["attempted_at"], name="webhooks_attempt_at_idx")]  # retention
