"""Writes for accounts and organizations.

Membership rules live here, not in views, so the HTML pages, the admin and any future API
enforce the same invariants:

- an organization always keeps at least one owner (the last owner cannot be removed,
  demoted, or leave);
- only owners grant, change or revoke the owner role; admins manage the other roles;
- an invitation is accepted once, before it expires, by a person who owns the invited
  address (the invitation email proves it for a brand-new signup).
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from portal.mail import email_send
from portal.problems import Conflict, Forbidden, Problem


class MembershipRuleViolation(Conflict):
    slug, title = "membership-rule", "Membership rule"


class RoleNotAllowed(Forbidden):
    slug, title = "role-not-allowed", "Your role cannot do this"


class InvitationNotUsable(Problem):
    status, slug, title = 410, "invitation-not-usable", "Invitation can no longer be used"


class InvitationWrongRecipient(Forbidden):
    slug, title = "invitation-wrong-recipient", "Invitation is for another address"


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, is_personal: bool = False, currency: str = "NGN") -> Organization:
    """Create an organization with ``owner`` as its first member (role owner)."""
    name = name.strip()
    if not name:
        raise Problem("An organization needs a name.")
    org = Organization.objects.create(
        name=name, slug=_unique_slug(name), is_personal=is_personal, billing_email=owner.email, currency=currency
    )
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


def organization_create_personal(*, user: User) -> Organization:
    """Every new user gets a personal organization named after them."""
    name = user.full_name or user.email.split("@")[0]
    return organization_create(name=f"{name}'s organization", owner=user, is_personal=True)


# --- Members ---------------------------------------------------------------------------------
def _owner_count(organization_id: int) -> int:
    return Membership.objects.filter(organization_id=organization_id, role=Role.OWNER).count()


def _lock_owners(organization_id: int) -> None:
    """Serialise owner changes per organization so two concurrent demotions cannot both pass
    the "at least one owner" check (each would see the other owner still in place)."""
    list(Membership.objects.select_for_update().filter(organization_id=organization_id, role=Role.OWNER))


def _require_can_manage(*, actor: Membership, target_role: str, new_role: str | None = None) -> None:
    if actor.role not in (Role.OWNER, Role.ADMIN):
        raise RoleNotAllowed("Only owners and admins manage members.")
    if actor.role != Role.OWNER and (target_role == Role.OWNER or new_role == Role.OWNER):
        raise RoleNotAllowed("Only an owner can grant, change or remove the owner role.")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    """Change a member's role. ``actor`` is the caller's membership of the same organization."""
    if role not in Role.values:
        raise Problem(f"Unknown role {role!r}.")
    if actor.organization_id != membership.organization_id:
        raise RoleNotAllowed("You are not a member of that organization.")
    _require_can_manage(actor=actor, target_role=membership.role, new_role=role)
    _lock_owners(membership.organization_id)
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owner_count(membership.organization_id) <= 1:
        raise MembershipRuleViolation("The last owner cannot be demoted. Make someone else an owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    """Remove a member from the organization (not the caller: use ``membership_leave``)."""
    if actor.organization_id != membership.organization_id:
        raise RoleNotAllowed("You are not a member of that organization.")
    if actor.pk == membership.pk:
        raise MembershipRuleViolation("To remove yourself, leave the organization instead.")
    _require_can_manage(actor=actor, target_role=membership.role)
    _lock_owners(membership.organization_id)
    if membership.role == Role.OWNER and _owner_count(membership.organization_id) <= 1:
        raise MembershipRuleViolation("The last owner cannot be removed.")
    membership.delete()


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """The caller leaves an organization. The last owner must hand over ownership first."""
    if membership.organization.is_personal:
        raise MembershipRuleViolation("You cannot leave your personal organization.")
    _lock_owners(membership.organization_id)
    if membership.role == Role.OWNER and _owner_count(membership.organization_id) <= 1:
        raise MembershipRuleViolation("You are the last owner. Make someone else an owner before you leave.")
    membership.delete()


# --- Invitations -----------------------------------------------------------------------------
def invitation_accept_url(*, invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("accounts:invitation_accept", args=[invitation.token])


def invitation_send(*, invitation: Invitation) -> None:
    """Email the accept link (subject/text/html template triple under templates/emails/)."""
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "accept_url": invitation_accept_url(invitation=invitation),
        "role": invitation.get_role_display(),
    }
    email_send(template="invitation", to=[invitation.email], context=context)


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, invited_by: User) -> Invitation:
    """Invite ``email`` to ``organization``; the email goes out after the transaction commits.

    Inviting an address that already has an open invitation re-sends a fresh link instead of
    failing, which is what a person pressing "Invite" twice expects.
    """
    email = email.strip()
    if role not in Role.values:
        raise Problem(f"Unknown role {role!r}.")
    actor = Membership.objects.filter(organization=organization, user=invited_by).first()
    if actor is None:
        raise RoleNotAllowed("You are not a member of that organization.")
    _require_can_manage(actor=actor, target_role=role)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise MembershipRuleViolation(f"{email} is already a member of {organization.name}.")
    expires_at = timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation = (
        Invitation.objects.filter(organization=organization, email__iexact=email, accepted_at__isnull=True)
        .select_for_update()
        .first()
    )
    if invitation is not None:
        invitation.role = role
        invitation.invited_by = invited_by
        invitation.expires_at = expires_at
        invitation.token = Invitation._meta.get_field("token").default()
        invitation.save(update_fields=["role", "invited_by", "expires_at", "token"])
    else:
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organization=organization, email=email, role=role, invited_by=invited_by, expires_at=expires_at
                )
        except IntegrityError:  # a concurrent invite of the same address won the race
            raise MembershipRuleViolation(f"{email} has just been invited.") from None
    transaction.on_commit(lambda: invitation_send(invitation=invitation))
    return invitation


def invitation_revoke(*, invitation: Invitation, actor: Membership) -> None:
    if actor.organization_id != invitation.organization_id:
        raise RoleNotAllowed("You are not a member of that organization.")
    _require_can_manage(actor=actor, target_role=invitation.role)
    if invitation.accepted_at is not None:
        raise InvitationNotUsable("This invitation was already accepted.")
    invitation.delete()


def _owns_address(user: User, email: str) -> bool:
    if user.email.lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the organization with the invited role. Idempotent for an existing member."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationNotUsable("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise InvitationNotUsable("This invitation has expired. Ask for a new one.")
    if not _owns_address(user, invitation.email):
        raise InvitationWrongRecipient(
            f"This invitation was sent to {invitation.email}. Sign in with that address to accept it."
        )
    membership, _created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership
