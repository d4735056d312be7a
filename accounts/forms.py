from __future__ import annotations

from django import forms

from accounts.models import Role


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(
        label="Organization name", max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "Acme Payments", "autocomplete": "organization"}),
    )


class InvitationCreateForm(forms.Form):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"placeholder": "teammate@company.com"}))
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.DEVELOPER)


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
