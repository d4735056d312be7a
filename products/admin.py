"""Admin for API products. The console (``/console/products/``) is the operator's page; the
admin is the raw view. Edits here announce themselves to the hot path like the services do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from products.catalogue import catalogue_changed
from products.models import DOCUMENT_FIELDS, ApiDocument, ApiProduct, Operation
from products.validators import base_paths_overlap


class _AnnouncesChanges(admin.ModelAdmin):
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        catalogue_changed()

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        catalogue_changed()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        catalogue_changed()

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        catalogue_changed()


class ApiProductAdminForm(forms.ModelForm):
    class Meta:
        model = ApiProduct
        # Not the upstream secret: a form would render it back. The console and the API set it.
        fields = [
            "name",
            "slug",
            "description",
            "base_path",
            "upstream_url",
            "upstream_auth_header",
            "connect_timeout_s",
            "read_timeout_s",
            "max_request_bytes",
            "max_response_bytes",
            "visibility",
            "organizations",
            "plans",
            "is_active",
        ]

    def clean_base_path(self) -> str:
        base_path = self.cleaned_data["base_path"]
        others = ApiProduct.objects.exclude(pk=self.instance.pk).values_list("base_path", flat=True)
        clash = next((other for other in others if base_paths_overlap(base_path, other)), None)
        if clash:
            raise forms.ValidationError(f"Overlaps the base path {clash} of another product.")
        return base_path


@admin.register(ApiProduct)
class ApiProductAdmin(_AnnouncesChanges):
    form = ApiProductAdminForm
    list_display = ["name", "slug", "base_path", "upstream_url", "visibility", "is_active"]
    list_filter = ["visibility", "is_active"]
    search_fields = ["name", "slug", "base_path"]
    filter_horizontal = ["organizations", "plans"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Operation)
class OperationAdmin(_AnnouncesChanges):
    list_display = ["operation_id", "product", "method", "path_template", "meter", "unit_rule", "enabled", "removed_at"]
    list_filter = ["product", "enabled", "unit_rule"]
    search_fields = ["operation_id", "path_template", "summary"]
    readonly_fields = ["product", "operation_id", *DOCUMENT_FIELDS, "removed_at", "created_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # operations come from an imported document


@admin.register(ApiDocument)
class ApiDocumentAdmin(admin.ModelAdmin):
    list_display = ["product", "version", "format", "is_current", "imported_at", "imported_by"]
    list_filter = ["product", "is_current"]
    exclude = ["source", "parsed"]
    readonly_fields = ["product", "version", "format", "sha256", "imported_at", "imported_by", "is_current"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
