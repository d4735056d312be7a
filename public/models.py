"""Models of the public site: status probes, incidents, and the docs' test key."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.crypto import EncryptedTextField


class Component(models.TextChoices):
    """What the status page reports on. The order here is the order on the page."""

    API = "api", "API"
    DATABASE = "database", "Database"
    REDIS = "redis", "Rate limiting & cache"
    WORKERS = "workers", "Background workers"
    USAGE = "usage", "Usage metering"
    BILLING = "billing", "Billing"


class ProbeResult(models.Model):
    """One health probe of one component, written every minute by Celery beat."""

    component = models.CharField(max_length=16, choices=Component.choices)
    ok = models.BooleanField()
    latency_ms = models.FloatField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["component", "-checked_at"], name="probe_component_recent")]
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"{self.component} {'ok' if self.ok else 'FAIL'} at {self.checked_at:%Y-%m-%d %H:%M}"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class IncidentImpact(models.TextChoices):
    MINOR = "minor", "Degraded performance"
    MAJOR = "major", "Partial outage"
    CRITICAL = "critical", "Major outage"
    MAINTENANCE = "maintenance", "Scheduled maintenance"


class Incident(models.Model):
    """An operator-posted incident (or maintenance) shown on /status/ until resolved, then in history."""

    title = models.CharField(max_length=200)
    impact = models.CharField(max_length=16, choices=IncidentImpact.choices, default=IncidentImpact.MINOR)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    components = models.JSONField(default=list, blank=True, help_text='Affected component codes, e.g. ["api"].')
    started_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("started_at")),
                name="incident_resolved_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    body = models.TextField()
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-posted_at"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} {self.posted_at:%Y-%m-%d %H:%M}"


class DocsKey(models.Model):
    """The test key the docs' "Try it" uses for one developer in one organization.

    API keys are stored as digests only, so the docs cannot recover a key the developer
    created. Instead the docs create their own *test* key (never a live one: test calls are
    free and never billed) and keep its secret here, encrypted at rest (``portal.crypto``), so
    the page can pre-authorize Swagger UI and fill the code samples.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="docs_keys")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="docs_keys")
    api_key_id = models.BigIntegerField(help_text="keys.ApiKey id (test mode).")
    secret = EncryptedTextField(purpose="docs-try-it-key")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="docskey_one_per_member")]

    def __str__(self) -> str:
        return f"docs key {self.api_key_id} for {self.user_id}@{self.organization_id}"
