"""Reads for accounts and organizations. Every lookup is scoped to the caller: an object of
another organization is a 404, never a 403 that would confirm it exists."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import TOKEN_VISIBLE_LENGTH, Invitation, Membership, Organization, PersonalAccessToken, Role, User
from portal.crypto import secret_digest


def organizations_for_user(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).order_by("-is_personal", "name")


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("-organization__is_personal", "organization__name")
    )


def membership_get(*, user: User, organization_id: int) -> Membership:
    """The caller's membership of that organization, or 404 (never reveals other orgs)."""
    try:
        return Membership.objects.select_related("organization").get(user=user, organization_id=organization_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such organization.") from None


def default_membership(*, user: User) -> Membership | None:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user)
        .order_by("-organization__is_personal", "created_at")
        .first()
    )


def members_of(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=org).select_related("user").order_by("created_at")


def member_get(*, org: Organization, membership_id: int) -> Membership:
    """A membership of ``org`` by id, or 404."""
    try:
        return Membership.objects.select_related("user", "organization").get(organization=org, pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


def invitations_open_for(*, org: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(organization=org, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, org: Organization, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.get(organization=org, pk=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None


def invitation_by_token(*, token: str) -> Invitation:
    """The invitation a link points at (the token is the capability), or 404."""
    try:
        return Invitation.objects.select_related("organization", "invited_by").get(token=token)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None


BILLING_CONTACT_ROLES = (Role.OWNER, Role.ADMIN, Role.BILLING)


def billing_contacts(*, org: Organization) -> list[str]:
    """Who hears about money and usage (dunning, usage alerts, receipts): the organization's
    billing e-mail when it has one, else its owners, admins and billing members."""
    if org.billing_email:
        return [org.billing_email]
    emails = Membership.objects.filter(organization=org, role__in=BILLING_CONTACT_ROLES).values_list(
        "user__email", flat=True
    )
    return sorted({email for email in emails if email})


def billing_contact_email(*, org: Organization) -> str:
    """The one address a payment provider keeps for the customer: the billing e-mail, else the
    first owner's."""
    if org.billing_email:
        return org.billing_email
    owner = org.memberships.select_related("user").filter(role=Role.OWNER).order_by("pk").first()
    return owner.user.email if owner else ""


def personal_access_tokens_for_user(*, user: User) -> QuerySet[PersonalAccessToken]:
    """Every token of the user, across their organizations, newest first."""
    return PersonalAccessToken.objects.filter(membership__user=user).select_related("membership__organization")


def personal_access_token_get(*, user: User, token_id: int) -> PersonalAccessToken:
    """One of the user's own tokens, or 404 (a teammate's token is not yours to revoke)."""
    try:
        return personal_access_tokens_for_user(user=user).get(pk=token_id)
    except (PersonalAccessToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such token.") from None


def personal_access_token_for_secret(*, raw: str) -> PersonalAccessToken | None:
    """The live token whose secret is ``raw``, with its membership, user and organization; None
    when it is unknown, revoked or expired (the caller says only "invalid", never which).

    Looked up by its visible prefix, then the digests compared in constant time, so response
    timing says nothing about how close a guess came."""
    digest = secret_digest(raw)
    candidates = PersonalAccessToken.objects.select_related("membership__user", "membership__organization").filter(
        prefix=raw[:TOKEN_VISIBLE_LENGTH], revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return next((token for token in candidates if hmac.compare_digest(token.digest, digest)), None)
