"""Seed demo data idempotently: plans, prices, meters and an operator login (printed once)."""

from __future__ import annotations

import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import organization_create_personal
from plans.services import plans_seed_demo

OPERATOR_EMAIL = "operator@tollgate.local"


class Command(BaseCommand):
    help = "Create or update demo plans and meters, and an operator account."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        plans = plans_seed_demo()
        self.stdout.write(f"Plans: {', '.join(p.name for p in plans)}")
        if User.objects.filter(email=OPERATOR_EMAIL).exists():
            self.stdout.write(f"Operator account {OPERATOR_EMAIL} already exists (password printed on first run).")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(email=OPERATOR_EMAIL, password=password, full_name="Operator")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        organization_create_personal(user=user)
        self.stdout.write(
            self.style.SUCCESS(f"\n  Operator login (shown once): {OPERATOR_EMAIL} / {password}\n  Admin: /admin/\n")
        )
