"""Usage storage: the raw event ledger (monthly partitions), rollups, alerts and drift reports.

``UsageEvent`` is a Django model over the *partitioned parent* table ``usage_event``. The
table, its monthly partitions and the default partition are created with raw SQL
(migration 0001 and ``usage.partitions``), because Django cannot declare partitioning; the
model is ``managed = False`` so the ORM reads it but never tries to alter it. Its primary key
is ``(id, occurred_at)`` — PostgreSQL requires the partition key in every unique index — and
that key is what makes redelivery harmless (``INSERT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization


class UsageEvent(models.Model):
    pk = models.CompositePrimaryKey("id", "occurred_at")
    id = models.UUIDField()
    occurred_at = models.DateTimeField()
    org_id = models.BigIntegerField()
    user_id = models.BigIntegerField(null=True)
    api_key_id = models.BigIntegerField(null=True)
    api_key_prefix = models.TextField()
    mode = models.TextField()  # live | test
    operation_id = models.TextField()
    method = models.TextField()
    status = models.SmallIntegerField()
    units = models.BigIntegerField()
    meter = models.TextField()
    latency_ms = models.FloatField()
    plan = models.TextField()
    request_id = models.TextField()

    class Meta:
        managed = False
        db_table = "usage_event"

    @property
    def billable(self) -> bool:
        return self.mode == "live" and self.status < 500


class Granularity(models.TextChoices):
    HOUR = "hour", "Hourly"
    DAY = "day", "Daily"


class UsageRollup(models.Model):
    """Aggregates per (bucket, org, key, operation, meter, mode, status class).

    Recomputed from the raw events (hour) or from the hourly rows (day) by deleting and
    re-inserting the whole (granularity, bucket, org) slice, so recomputing gives the same
    rows. ``latency_hist`` holds counts per fixed log-scale bucket (``usage.histogram``), so
    hourly rows merge into daily rows exactly and percentiles come from the merged counts.
    """

    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket_start = models.DateTimeField()
    org_id = models.BigIntegerField()
    api_key_prefix = models.TextField()
    operation_id = models.TextField()
    meter = models.TextField()
    mode = models.TextField()
    status_class = models.SmallIntegerField(help_text="1..5 for 1xx..5xx")
    requests = models.BigIntegerField()
    units = models.BigIntegerField()
    billable_units = models.BigIntegerField()
    errors = models.BigIntegerField(help_text="Responses with status >= 500.")
    latency_sum_ms = models.FloatField()
    latency_hist = ArrayField(models.IntegerField())

    class Meta:
        db_table = "usage_rollup"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "granularity",
                    "org_id",
                    "bucket_start",
                    "api_key_prefix",
                    "operation_id",
                    "meter",
                    "mode",
                    "status_class",
                ],
                name="usage_rollup_unique_slice",
            ),
        ]
        indexes = [models.Index(fields=["org_id", "granularity", "bucket_start"], name="usage_rollup_org_time")]


class AlertThreshold(models.IntegerChoices):
    WARN = 80, "80 %"
    REACHED = 100, "100 %"


class UsageAlert(models.Model):
    """A quota threshold crossed in a period. The unique constraint makes it fire once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_alerts")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField(choices=AlertThreshold.choices)
    used = models.BigIntegerField()
    quota = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "threshold"], name="usage_alert_once_per_period"
            ),
            models.CheckConstraint(condition=Q(threshold__in=[80, 100]), name="usage_alert_threshold_known"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.threshold}% of {self.quota}"


class QuotaDrift(models.Model):
    """Reconciliation result: Redis quota counter vs PostgreSQL count for the current period."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="quota_drifts")
    period_start = models.DateTimeField()
    redis_count = models.BigIntegerField()
    db_count = models.BigIntegerField()
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["organization", "-checked_at"])]

    @property
    def drift(self) -> int:
        return self.redis_count - self.db_count


class UsageSummary(models.Model):
    """One dimension at a time, per (granularity, bucket, org): the rows the dashboard reads.

    Derived from ``UsageRollup`` in the same transaction (``GROUPING SETS``), so a busy
    organization's month is a few thousand rows instead of hundreds of thousands. ``dimension``
    is ``all`` (value ``""``), ``key``, ``operation``, ``status_class``, ``meter`` or ``mode``.
    """

    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket_start = models.DateTimeField()
    org_id = models.BigIntegerField()
    dimension = models.CharField(max_length=16)
    value = models.TextField()
    requests = models.BigIntegerField()
    units = models.BigIntegerField()
    billable_units = models.BigIntegerField()
    errors = models.BigIntegerField()
    latency_sum_ms = models.FloatField()
    latency_hist = ArrayField(models.IntegerField())

    class Meta:
        db_table = "usage_summary"
        constraints = [
            models.UniqueConstraint(
                fields=["org_id", "granularity", "dimension", "bucket_start", "value"],
                name="usage_summary_unique_slice",
            ),
        ]
