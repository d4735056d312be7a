from __future__ import annotations

from django.contrib import admin

from usage.models import QuotaDrift, UsageAlert


@admin.register(UsageAlert)
class UsageAlertAdmin(admin.ModelAdmin):
    list_display = ("organization", "threshold", "used", "quota", "period_start", "created_at")
    list_filter = ("threshold",)
    search_fields = ("organization__name", "organization__slug")
    readonly_fields = ("organization", "period_start", "period_end", "threshold", "used", "quota", "created_at")


@admin.register(QuotaDrift)
class QuotaDriftAdmin(admin.ModelAdmin):
    list_display = ("organization", "redis_count", "db_count", "drift", "period_start", "checked_at")
    search_fields = ("organization__name",)
    readonly_fields = ("organization", "period_start", "redis_count", "db_count", "checked_at")
