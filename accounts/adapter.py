from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction

from accounts.services import organization_create_personal


class AccountAdapter(DefaultAccountAdapter):
    """Gives every new user a personal organization, in the same transaction as the user."""

    @transaction.atomic
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            organization_create_personal(user=user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Emails speak as the product (SITE_NAME), not as whatever Host header the request had.
        site = SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)
        super().send_mail(template_prefix, email, {"current_site": site, **context})
