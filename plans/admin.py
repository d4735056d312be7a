from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from plans.models import Meter, MeterPrice, Plan, Price, Subscription
from plans.pricing import InvalidTiers, tiers_validate


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0


class MeterPriceForm(forms.ModelForm):
    class Meta:
        model = MeterPrice
        fields = "__all__"  # noqa: DJ007 - the admin form edits every field of the model

    def clean_tiers(self):
        tiers = self.cleaned_data.get("tiers") or []
        if tiers:
            try:
                tiers_validate(tiers)
            except InvalidTiers as exc:
                raise forms.ValidationError(str(exc)) from exc
        return tiers


class MeterPriceInline(admin.TabularInline):
    model = MeterPrice
    form = MeterPriceForm
    extra = 0
    autocomplete_fields = ["meter"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "is_public",
        "organization",
        "monthly_quota",
        "rate_per_second",
        "rate_per_minute",
        "overage_policy",
        "grace_percent",
        "is_active",
        "sort_order",
    ]
    list_filter = ["is_public", "is_active", "overage_policy"]
    search_fields = ["code", "name", "organization__name"]
    autocomplete_fields = ["organization"]
    inlines = [PriceInline, MeterPriceInline]

    def save_model(self, request, obj, form, change):
        # Against the layering, on purpose (docs/architecture.md): an operator's edit must reach
        # the hot path's copy of the limits, which the limiter (usage, above plans) owns.
        from usage.entitlements import plan_entitlements_refresh  # noqa: PLC0415 - against the layering on purpose, see docs/architecture.md

        super().save_model(request, obj, form, change)
        if change:
            # After commit (and after the inlines are saved): a request in between would
            # otherwise republish the old limits for a whole entitlements TTL.
            transaction.on_commit(lambda: plan_entitlements_refresh(plan=obj))
            self.message_user(request, f"Limits of {obj.code} apply from the next request.", messages.INFO)


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit_label", "stripe_event_name"]
    search_fields = ["code", "name"]


@admin.register(MeterPrice)
class MeterPriceAdmin(admin.ModelAdmin):
    form = MeterPriceForm
    list_display = ["plan", "meter", "currency", "included_units", "unit_price"]
    list_filter = ["currency", "plan"]
    list_select_related = ["plan", "meter"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "plan",
        "status",
        "currency",
        "current_period_start",
        "current_period_end",
        "provider",
    ]
    list_filter = ["status", "plan", "provider"]
    search_fields = ["organization__name", "provider_subscription_id"]
    autocomplete_fields = ["organization"]
    list_select_related = ["organization", "plan"]

    def save_model(self, request, obj, form, change):
        from usage.entitlements import entitlements_publish  # against the layering: see PlanAdmin.save_model  # noqa: PLC0415 - against the layering on purpose, see docs/architecture.md

        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: entitlements_publish(org_id=obj.organization_id))
