"""Seed demo data idempotently: plans, prices, meters, the demo API product (imported from its
OpenAPI document, pointed at ``DEMO_UPSTREAM_URL``) and an operator login (printed once)."""

from __future__ import annotations

import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import organization_create_personal
from products.demo import demo_product_seed

OPERATOR_EMAIL = "operator@tollgate.local"


class Command(BaseCommand):
    help = "Create or update demo plans, meters and the demo API product, and an operator account."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        product = demo_product_seed()
        self.stdout.write(
            f"Demo product: {product.name} at {product.base_path}/… → {product.upstream_url} "
            f"({product.operations.filter(enabled=True).count()} operations)"
        )
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
