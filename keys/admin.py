from __future__ import annotations

from django.contrib import admin, messages

from keys.models import ApiKey, KeyPropagation
from keys.services import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "organization", "mode", "status", "created_at", "last_used_at", "expires_at"]
    list_filter = ["mode", "revoked_at"]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    # Only the name is editable here: organization, mode, scopes and expiry are baked into the
    # cached key record the hot path serves from, so changing them must go through the
    # services (revoke and let the customer create a new key), never a silent row edit.
    readonly_fields = [
        "organization",
        "mode",
        "scopes",
        "expires_at",
        "prefix",
        "digest",
        "created_at",
        "last_used_at",
        "rotated_from",
        "revoked_at",
        "overlap_until",
        "created_by",
    ]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by customers (the secret is shown once, in the portal)

    @admin.action(description="Revoke selected keys (refused from the next request)")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key, user=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(KeyPropagation)
class KeyPropagationAdmin(admin.ModelAdmin):
    """Key changes Redis has not confirmed yet (normally empty: rows live for milliseconds,
    or until Redis is back — the beat sweep retries every 5 s)."""

    list_display = ["key", "created_at", "attempts", "last_error"]
    list_select_related = ["key"]
    readonly_fields = ["key", "created_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False
