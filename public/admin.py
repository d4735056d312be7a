"""Operator admin for the status page: post incidents and their updates."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from public.models import Incident, IncidentStatus, IncidentUpdate, ProbeResult


class IncidentUpdateInline(admin.StackedInline):
    model = IncidentUpdate
    extra = 1
    fields = ("status", "body", "posted_at")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("title", "impact", "status", "started_at", "resolved_at")
    list_filter = ("status", "impact")
    search_fields = ("title",)
    inlines = [IncidentUpdateInline]
    fields = ("title", "impact", "status", "components", "started_at", "resolved_at")

    def save_model(self, request, obj, form, change) -> None:
        # Resolving an incident stamps its end (shown in the history on /status/).
        if obj.status == IncidentStatus.RESOLVED and obj.resolved_at is None:
            obj.resolved_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ProbeResult)
class ProbeResultAdmin(admin.ModelAdmin):
    list_display = ("component", "ok", "latency_ms", "detail", "checked_at")
    list_filter = ("component", "ok")
    date_hierarchy = "checked_at"

    def has_add_permission(self, request) -> bool:
        return False
