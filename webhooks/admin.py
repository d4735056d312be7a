from __future__ import annotations

from django.contrib import admin

from webhooks.models import CustomerEvent, DeliveryAttempt, WebhookDelivery, WebhookEndpoint


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "event", "status", "attempt_count")
    inlines = [DeliveryAttemptInline]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "organization", "is_active", "created_at")
    exclude = ("secret",)


admin.site.register(CustomerEvent)
