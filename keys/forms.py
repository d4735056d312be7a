from __future__ import annotations

from typing import cast

from django import forms
from django.utils import timezone

from keys.models import KeyMode
from products.selectors import key_scope_choices

OVERLAP_CHOICES = [
    (0, "Stop the old key now"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
]


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. Production server"}))
    mode = forms.ChoiceField(choices=KeyMode.choices, initial=KeyMode.TEST, widget=forms.RadioSelect)
    expires_at = forms.DateTimeField(
        required=False, label="Expires (optional)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    scopes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed products and operations (none ticked = all)",
    )

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["scopes"]).choices = key_scope_choices(org=org)

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("Choose a time in the future.")
        return value


class KeyRotateForm(forms.Form):
    overlap_seconds = forms.TypedChoiceField(
        choices=OVERLAP_CHOICES, coerce=int, initial=86_400, label="Old key keeps working for"
    )
