"""Cross-organization isolation: another org's members, invitations and org ids are 404."""

from __future__ import annotations

import pytest

from accounts import selectors, services
from accounts.models import Invitation, Membership, Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_other_orgs_members_are_not_found(member_client, other_org):
    stranger = Membership.objects.get(organization=other_org)
    victim = MembershipFactory(organization=other_org, role=Role.DEVELOPER)
    assert member_client.post(f"/orgs/members/{victim.pk}/role/", {"role": "admin"}).status_code == 404
    assert member_client.post(f"/orgs/members/{stranger.pk}/remove/").status_code == 404
    victim.refresh_from_db()
    assert victim.role == Role.DEVELOPER
    assert Membership.objects.filter(pk=stranger.pk).exists()


def test_other_orgs_invitations_are_not_found(member_client, other_org):
    owner = Membership.objects.get(organization=other_org).user
    invitation = services.invitation_create(
        organization=other_org, email="x@example.com", role=Role.DEVELOPER, invited_by=owner
    )
    assert member_client.post(f"/orgs/invitations/{invitation.pk}/revoke/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert b"x@example.com" not in member_client.get("/orgs/members/").content


def test_cannot_switch_to_or_leave_an_org_you_are_not_in(member_client, other_org, org):
    assert member_client.post("/orgs/switch/", {"organization": other_org.pk}).status_code == 404
    assert member_client.post("/orgs/switch/", {"organization": "abc"}).status_code == 404
    assert member_client.post("/orgs/leave/", {"organization": other_org.pk}).status_code == 404
    assert member_client.get("/dashboard/").context["org"] == org


def test_session_pointing_at_a_foreign_org_is_ignored(member_client, other_org, org):
    session = member_client.session
    session["active_org_id"] = other_org.pk
    session.save()
    response = member_client.get("/orgs/members/")
    assert response.context["org"] == org
    assert other_org.name.encode() not in response.content


def test_selectors_are_scoped(user, org, other_org):
    foreign = Membership.objects.get(organization=other_org)
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.member_get(org=org, membership_id=foreign.pk)
    with pytest.raises(Http404):
        selectors.membership_get(user=user, organization_id=other_org.pk)
    assert list(selectors.organizations_for_user(user=user)) == [org]
    assert foreign not in selectors.members_of(org=org)


def test_services_refuse_an_actor_from_another_org(org, other_org, user):
    actor = Membership.objects.get(organization=other_org)
    target = Membership.objects.get(organization=org, user=user)
    with pytest.raises(services.RoleNotAllowed):
        services.membership_change_role(membership=target, role=Role.BILLING, actor=actor)
    with pytest.raises(services.RoleNotAllowed):
        services.membership_remove(membership=target, actor=actor)
