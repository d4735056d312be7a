"""API keys: a random secret shown once; only a short prefix and an HMAC digest are stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization


class KeyMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class ApiKey(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80)
    mode = models.CharField(max_length=4, choices=KeyMode.choices, default=KeyMode.TEST)
    # "tg_live_AbCd1234" — enough to recognise a key in lists and logs, useless to an attacker.
    prefix = models.CharField(max_length=24)
    # HMAC-SHA256(API_KEY_PEPPER, full key), hex. A database leak reveals no usable key.
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, blank=True, help_text="Allowed operation ids; empty = all.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to"
    )
    # Set on the *old* key when it is rotated: it keeps working until then.
    overlap_until = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set when the `key.expiring` customer event went out, so each key is announced once.
    expiry_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=["live", "test"]), name="apikey_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def valid_until(self):
        """When the key stops working (expiry or end of a rotation overlap), or None."""
        ends = [t for t in (self.expires_at, self.overlap_until) if t is not None]
        return min(ends) if ends else None

    def status_at(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        valid_until = self.valid_until
        if valid_until is not None and valid_until <= now:
            return "rotated" if self.overlap_until is not None and self.overlap_until <= now else "expired"
        if self.overlap_until is not None:
            return "rotating"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at()


class KeyPropagation(models.Model):
    """Outbox: a key change that Redis (the hot path's copy) has not confirmed yet.

    Written in the same transaction as the change — a revocation, a rotation, or a creation
    whose digest could not be added to the known-digest set — and deleted once
    ``keys.cache.key_publish`` succeeded. ``keys.services.api_keys_propagate_pending`` (beat,
    every 5 s) retries whatever is left, so a Redis blip delays a revocation, never loses it.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"propagate key {self.key_id} ({self.attempts} attempts)"
