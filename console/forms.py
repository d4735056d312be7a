"""Forms of the operator console. They only shape input: products.services validates and
writes, and its field errors are put back on the form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from accounts.models import Organization
from plans.models import Meter, Plan
from products.documents import MAX_DOCUMENT_BYTES
from products.models import MAX_BODY_BYTES, UnitRule, Visibility


class ProductForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=80, help_text="Identifies the product in URLs and the operator API.")
    base_path = forms.CharField(max_length=200, help_text="Public prefix on the gateway, e.g. /v1/messaging.")
    upstream_url = forms.CharField(max_length=500, label="Upstream URL", help_text="e.g. https://api.example.com")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    upstream_auth_header = forms.CharField(
        max_length=100, required=False, label="Upstream auth header", help_text="e.g. Authorization or X-Api-Key"
    )
    upstream_auth_secret = forms.CharField(
        required=False,
        label="Upstream secret",
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current one.",
    )
    connect_timeout_s = forms.DecimalField(
        max_digits=5, decimal_places=2, initial=Decimal("5"), label="Connect timeout (s)"
    )
    read_timeout_s = forms.DecimalField(max_digits=5, decimal_places=2, initial=Decimal("30"), label="Read timeout (s)")
    max_request_bytes = forms.IntegerField(min_value=1, max_value=MAX_BODY_BYTES, initial=10 * 1024 * 1024)
    max_response_bytes = forms.IntegerField(min_value=1, max_value=MAX_BODY_BYTES, initial=50 * 1024 * 1024)
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
    organizations = forms.CharField(
        required=False,
        label="Visible to organizations",
        help_text="For a private product: organization slugs, separated by commas.",
    )
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Plans that include the product; none ticked = every plan.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def clean_organizations(self) -> list[Organization]:
        slugs = sorted({slug.strip() for slug in self.cleaned_data["organizations"].split(",") if slug.strip()})
        found = list(Organization.objects.filter(slug__in=slugs))
        missing = set(slugs) - {org.slug for org in found}
        if missing:
            raise forms.ValidationError(f"Unknown organizations: {', '.join(sorted(missing))}.")
        return found

    def service_kwargs(self, *, keep_secret: bool) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if not data["upstream_auth_header"]:
            data["upstream_auth_secret"] = ""  # no header, no credential: clearing the header removes it
        elif keep_secret and not data["upstream_auth_secret"]:
            del data["upstream_auth_secret"]
        return data


class OperationForm(forms.Form):
    meter = forms.ModelChoiceField(
        queryset=Meter.objects.order_by("code"), required=False, to_field_name="code", empty_label="No meter (free)"
    )
    unit_rule = forms.ChoiceField(choices=UnitRule.choices, label="Units per call")
    units_fixed = forms.IntegerField(min_value=0, initial=1, label="Fixed units")
    unit_source = forms.CharField(
        max_length=200,
        required=False,
        label="Read units from",
        help_text="JSON pointer (/to, usage.total_tokens), form field (To) or response header (Tollgate-Units).",
    )
    max_units = forms.IntegerField(min_value=1, label="Units reserved", help_text="Before the upstream reports them.")
    required_scope = forms.CharField(max_length=200, required=False, help_text="Empty = the operation id.")

    def service_kwargs(self) -> dict[str, Any]:
        """The form always sends both: "no meter" means free, a meter with the free rule means fixed."""
        data = dict(self.cleaned_data)
        if data["meter"] is None:
            data["unit_rule"] = UnitRule.FREE
        elif data["unit_rule"] == UnitRule.FREE:
            data["unit_rule"] = UnitRule.FIXED
        if data["unit_rule"] in (UnitRule.FIXED, UnitRule.FREE):
            data["unit_source"] = ""
        return data


class DocumentImportForm(forms.Form):
    file = forms.FileField(required=False, label="OpenAPI file (JSON or YAML)")
    text = forms.CharField(required=False, label="…or paste it", widget=forms.Textarea(attrs={"rows": 10}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload, text = cleaned.get("file"), cleaned.get("text") or ""
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                raise forms.ValidationError(f"The file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The file is not UTF-8 text.") from exc
        if not text.strip():
            raise forms.ValidationError("Choose a file or paste the document.")
        cleaned["document"] = text
        return cleaned
