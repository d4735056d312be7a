from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Invitation, Membership, Organization, PersonalAccessToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_personal", "currency", "created_at"]
    search_fields = ["name", "slug", "billing_email"]
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "accepted_at"]
    raw_id_fields = ["organization", "invited_by", "accepted_by"]


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    """Read-only: a token's secret exists only when its owner creates it on the account page.
    Operators can see who holds which scopes and revoke (set revoked_at)."""

    list_display = ["name", "prefix", "membership", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_select_related = ["membership__user", "membership__organization"]
    search_fields = ["name", "prefix", "membership__user__email", "membership__organization__name"]
    readonly_fields = ["membership", "name", "prefix", "digest", "scopes", "created_at", "expires_at", "last_used_at"]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False


# The operator signs in to the admin through allauth's login (rate limits, MFA, verified email)
# instead of Django admin's own password form.
admin.site.login = secure_admin_login(admin.site.login)
