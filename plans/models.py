"""Plans, prices, meters and subscriptions: what a customer may do and what it costs.

Money is an integer in minor units plus an ISO 4217 currency; unit prices that go below a
minor unit ($0.002 per token) are ``Decimal`` with fixed precision, in *major* units.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization


class OveragePolicy(models.TextChoices):
    HARD_STOP = "hard_stop", "Refuse requests over the quota"
    BILL = "bill", "Serve and bill overage per unit"
    GRACE = "grace", "Allow a grace percentage, then refuse"


class Plan(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True, help_text="Shown on the pricing page.")
    # A private (enterprise/custom) plan belongs to one organization.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="private_plans"
    )
    monthly_quota = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Requests per month; empty = unlimited."
    )
    rate_per_second = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = no per-second limit.")
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = no per-minute limit.")
    overage_policy = models.CharField(max_length=16, choices=OveragePolicy.choices, default=OveragePolicy.HARD_STOP)
    grace_percent = models.PositiveSmallIntegerField(default=0)
    trial_days = models.PositiveSmallIntegerField(default=0)
    features = models.JSONField(default=list, blank=True, help_text="Bullet points for the pricing page.")
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_public=False) | Q(organization__isnull=True), name="plan_public_has_no_org"
            ),
            models.CheckConstraint(condition=Q(grace_percent__lte=1000), name="plan_grace_percent_sane"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unlimited(self) -> bool:
        return self.monthly_quota is None


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class Price(models.Model):
    """The recurring base fee of a plan in one currency and interval."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    amount_minor = models.BigIntegerField(help_text="In minor units (kobo, cents).")
    is_active = models.BooleanField(default=True)
    stripe_price_id = models.CharField(max_length=100, blank=True)
    stripe_metered_price_id = models.CharField(max_length=100, blank=True)
    paystack_plan_code = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency", "interval"], name="price_unique_per_currency"),
            models.CheckConstraint(condition=Q(amount_minor__gte=0), name="price_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.amount_minor} {self.currency}/{self.interval}"


class Meter(models.Model):
    """A billable quantity, e.g. ``sms.sent``, ``delivery.status_check``, ``ai.tokens``."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=80)
    unit_label = models.CharField(max_length=32, help_text="Singular unit name: SMS, check, token.")
    description = models.TextField(blank=True)
    stripe_event_name = models.CharField(max_length=100, blank=True, help_text="Stripe Billing Meter event_name.")

    def __str__(self) -> str:
        return self.code


class MeterPrice(models.Model):
    """What one unit of a meter costs on a plan in a currency, after the included units.

    ``unit_price`` is in major units (₦5.00, $0.002) with 6 decimal places. ``tiers`` makes the
    price graduated: ``[{"up_to": 10000, "unit_price": "0.002"}, {"up_to": null, "unit_price": "0.0015"}]``
    (``up_to`` counts billable units after ``included_units``; the last tier has ``up_to`` null).
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="meter_prices")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    included_units = models.PositiveBigIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    tiers = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "meter", "currency"], name="meterprice_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="meterprice_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code}/{self.meter.code} {self.unit_price} {self.currency}"


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


LIVE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class Subscription(models.Model):
    """An organization's plan. At most one live (trialing/active/past_due) per organization;
    an organization without one is on the Free plan."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    price = models.ForeignKey(Price, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    currency = models.CharField(max_length=3, default="NGN")
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    cancel_at_period_end = models.BooleanField(default=False)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=16, blank=True, help_text="stripe, paystack or empty (free/manual).")
    provider_customer_id = models.CharField(max_length=100, blank=True)
    provider_subscription_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(status__in=LIVE_STATUSES), name="subscription_one_live_per_org"
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")), name="subscription_period_valid"
            ),
        ]
        indexes = [models.Index(fields=["provider", "provider_subscription_id"])]

    def __str__(self) -> str:
        return f"{self.organization} on {self.plan.code} ({self.status})"
