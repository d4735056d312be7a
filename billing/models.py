"""Billing state: checkouts, provider webhooks, payments and invoices.

Plans and subscriptions live in ``plans``; everything billing needs on top of them lives
here (customer webhooks are the ``webhooks`` app, the provider test double ``sandbox``).
Money is integer minor units plus an ISO 4217 currency.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from plans.models import Plan, Price, Subscription
from portal.crypto import EncryptedTextField


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    PAYSTACK = "paystack", "Paystack"


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    REFUNDED = "refunded", "Refunded (a paid plan was already live)"


class Checkout(models.Model):
    """One attempt to pay for a plan. ``reference`` is the provider's session id (Stripe) or
    transaction reference (Paystack): the only thing we trust from a webhook is this pointer,
    the amounts we expect are stored here and re-verified with the provider."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="checkouts")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    reference = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "reference"], name="checkout_unique_reference"),
            # Starting a checkout supersedes the open one: two open checkouts would mean two charges.
            models.UniqueConstraint(
                fields=["organization"], condition=Q(status="open"), name="checkout_one_open_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference} ({self.status})"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected (bad signature)"
    DUPLICATE = "duplicate", "Duplicate delivery"


class ProviderEvent(models.Model):
    """A webhook delivery from a provider whose signature verified, stored raw before it is
    processed (unsigned deliveries are never stored: see ``ProviderWebhookRejection``).

    ``event_id`` is set once the delivery has *claimed* the event: the partial unique index
    makes a second (or racing) delivery fail to claim it, so it is recorded as a duplicate
    (without its body) and changes nothing. ``object_ref`` is the provider object the event is
    about, for events whose identity depends on that object's history (Paystack subscriptions).
    Rows older than ``PROVIDER_EVENTS_RETENTION_DAYS`` are pruned."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=160, null=True, blank=True)  # noqa: DJ001 - NULL, not '', so the partial unique index ignores events without an id
    event_type = models.CharField(max_length=80, blank=True)
    object_ref = models.CharField(max_length=120, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], condition=Q(event_id__isnull=False), name="providerevent_unique_event"
            )
        ]
        indexes = [
            models.Index(fields=["provider", "object_ref"], condition=~Q(object_ref=""), name="providerevent_object"),
            models.Index(fields=["received_at"], name="providerevent_received"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.event_id or ''} ({self.status})"


class ProviderWebhookRejection(models.Model):
    """Deliveries to a provider webhook URL that failed signature verification, aggregated per
    provider, client address and hour — never their body, only its size and SHA-256.

    At most ``PROVIDER_WEBHOOK_REJECTIONS_PER_HOUR`` addresses get a row of their own per
    provider and hour; the rest are counted on one ``*`` row, so a flood (from one address or
    many) adds a bounded number of small rows."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    client_address = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    last_reason = models.CharField(max_length=200, blank=True)
    last_size = models.PositiveIntegerField(default=0)
    last_body_sha256 = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-window_start", "-count"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "client_address", "window_start"], name="providerwebhookrejection_unique_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.client_address} {self.window_start:%Y-%m-%d %H:00} ×{self.count}"


class CompensationKind(models.TextChoices):
    REFUND = "refund", "Refund a payment"
    SUBSCRIPTION_CANCEL = "subscription_cancel", "Cancel a provider subscription"


class CompensationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (needs a person)"


class Compensation(models.Model):
    """A refund or cancellation we owe because a payment could not be honoured (a second
    checkout paid while a plan is live, an upgrade that could not be applied, a replaced
    subscription still renewing). Journaled before it is attempted and retried until the
    provider confirms it; every run looks the result up first, so a lost answer never
    refunds twice. ``reference``: the payment to refund, the subscription to cancel, or
    ``strays:<customer>:<price ref>`` for subscriptions we never heard the id of."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    kind = models.CharField(max_length=24, choices=CompensationKind.choices)
    reference = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=CompensationStatus.choices, default=CompensationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    result = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "kind", "reference"], name="compensation_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="compensation_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.provider} {self.reference} ({self.status})"


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    DISPUTED = "disputed", "Disputed"


class Payment(models.Model):
    """A charge seen at a provider (checkout, renewal, usage charge), with refunds and disputes."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="payments")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    reference = models.CharField(max_length=120)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    refunded_minor = models.BigIntegerField(default=0)
    dispute_status = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "reference"], name="payment_unique_reference")]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference} {self.amount_minor} {self.currency} ({self.status})"


class BillingProfile(models.Model):
    """Per-organization provider state that outlives one subscription (customer ids, the
    Paystack card authorization used for usage charges, dunning e-mail bookkeeping)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="billing_profile")
    stripe_customer_id = models.CharField(max_length=100, blank=True)
    paystack_customer_code = models.CharField(max_length=100, blank=True)
    paystack_authorization_code = EncryptedTextField(
        blank=True, default="", purpose="billing-profile-paystack-authorization"
    )
    paystack_email_token = models.CharField(max_length=100, blank=True)
    # The plan the org was on before a dunning downgrade, restored when payment recovers.
    downgraded_from = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class InvoiceCounter(models.Model):
    """One row per year; ``invoice_number_next`` locks it so numbers are gapless per deployment."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Invoice(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invoices")
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    number = models.CharField(max_length=32, unique=True)
    plan_name = models.CharField(max_length=80)
    currency = models.CharField(max_length=3)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    total_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    issued_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=16, blank=True)
    # The payment an invoice was issued for the moment it was confirmed (checkout session /
    # transaction reference, provider invoice id); empty on period-close invoices.
    provider_reference = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start"],
                condition=Q(provider_reference=""),
                name="invoice_one_close_per_org_period",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="invoice_one_per_payment",
            ),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="invoice_total_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLineKind(models.TextChoices):
    PLAN = "plan", "Plan fee"
    USAGE = "usage", "Metered usage"
    OVERAGE = "overage", "Overage"
    PRORATION = "proration", "Proration"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=InvoiceLineKind.choices)
    description = models.CharField(max_length=200)
    meter_code = models.CharField(max_length=64, blank=True)
    quantity = models.BigIntegerField(default=1)
    included_units = models.BigIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=18, decimal_places=6, default=0, help_text="Major units.")
    amount_minor = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
