from __future__ import annotations

from django import forms

from accounts.models import Membership, Role
from accounts.scopes import SCOPES, scopes_grantable


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(
        label="Organization name",
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "Acme Payments", "autocomplete": "organization"}),
    )


class InvitationCreateForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"placeholder": "teammate@company.com"})
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.DEVELOPER)


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


TOKEN_EXPIRY_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


class AccessTokenCreateForm(forms.Form):
    """A personal access token: which of the user's organizations, which scopes, how long."""

    name = forms.CharField(
        max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. Deploy script", "autocomplete": "off"})
    )
    expires_in_days = forms.TypedChoiceField(
        choices=TOKEN_EXPIRY_CHOICES, coerce=int, initial=90, label="Expires after"
    )

    def __init__(self, *args, memberships: list[Membership], is_staff: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The choices depend on the user (their organizations; operators also get staff scopes).
        self.fields["organization"] = forms.TypedChoiceField(
            coerce=int,
            label="Organization",
            choices=[(m.organization_id, f"{m.organization.name} ({m.get_role_display()})") for m in memberships],
        )
        self.fields["scopes"] = forms.MultipleChoiceField(
            widget=forms.CheckboxSelectMultiple,
            label="Scopes",
            choices=[(scope, f"{scope} — {SCOPES[scope]}") for scope in scopes_grantable(is_staff=is_staff)],
        )
        self.order_fields(["name", "organization", "scopes", "expires_in_days"])
