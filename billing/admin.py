from __future__ import annotations

from django.contrib import admin

from billing.models import (
    BillingProfile,
    Checkout,
    Compensation,
    Invoice,
    InvoiceLine,
    Payment,
    ProviderEvent,
    ProviderWebhookRejection,
)


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "provider", "event_type", "event_id", "status", "short_error")
    list_filter = ("provider", "status", "event_type")
    search_fields = ("event_id", "body", "error")
    readonly_fields = [f.name for f in ProviderEvent._meta.fields]

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]


@admin.register(ProviderWebhookRejection)
class ProviderWebhookRejectionAdmin(admin.ModelAdmin):
    list_display = ("window_start", "provider", "client_address", "count", "bytes_total", "last_reason")
    list_filter = ("provider",)
    readonly_fields = [f.name for f in ProviderWebhookRejection._meta.fields]


@admin.register(Compensation)
class CompensationAdmin(admin.ModelAdmin):
    """Refunds and cancellations we owe; ``failed`` ones need a person (settle at the provider,
    then mark them done)."""

    list_display = (
        "created_at",
        "organization",
        "provider",
        "kind",
        "reference",
        "amount_minor",
        "currency",
        "status",
        "attempts",
        "result",
    )
    list_filter = ("status", "provider", "kind")
    search_fields = ("reference", "organization__name", "reason")
    readonly_fields = (
        "organization",
        "provider",
        "kind",
        "reference",
        "amount_minor",
        "currency",
        "reason",
        "data",
        "attempts",
        "next_attempt_at",
        "last_error",
        "result",
        "created_at",
        "done_at",
    )


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "plan", "provider", "reference", "amount_minor", "currency", "status")
    list_filter = ("provider", "status")
    search_fields = ("reference", "organization__name")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "organization",
        "provider",
        "reference",
        "amount_minor",
        "currency",
        "status",
        "refunded_minor",
        "dispute_status",
    )
    list_filter = ("provider", "status")


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "organization", "period_start", "total_minor", "currency", "status")
    list_filter = ("status", "currency")
    inlines = [InvoiceLineInline]


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ("organization", "stripe_customer_id", "paystack_customer_code")
    exclude = ("paystack_authorization_code",)
