"""Writes for accounts and organizations."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django.utils.crypto import get_random_string

from accounts.models import Membership, Organization, Role, User


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, is_personal: bool = False, currency: str = "NGN") -> Organization:
    """Create an organization with ``owner`` as its first member (role owner)."""
    org = Organization.objects.create(
        name=name, slug=_unique_slug(name), is_personal=is_personal, billing_email=owner.email, currency=currency
    )
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


def organization_create_personal(*, user: User) -> Organization:
    """Every new user gets a personal organization named after them."""
    name = user.full_name or user.email.split("@")[0]
    return organization_create(name=f"{name}'s organization", owner=user, is_personal=True)
