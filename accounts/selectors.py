"""Reads for accounts and organizations. Every lookup is scoped to the caller."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, Organization, User


def organizations_for_user(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).order_by("-is_personal", "name")


def membership_get(*, user: User, organization_id: int) -> Membership:
    """The caller's membership of that organization, or 404 (never reveals other orgs)."""
    try:
        return Membership.objects.select_related("organization").get(user=user, organization_id=organization_id)
    except Membership.DoesNotExist:
        raise Http404("No such organization.") from None


def default_membership(*, user: User) -> Membership | None:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user)
        .order_by("-organization__is_personal", "created_at")
        .first()
    )
