"""Team organizations: create, switch, members and roles, the last-owner rule, leaving."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _member(org, role, user=None):
    return MembershipFactory(organization=org, user=user or UserFactory(), role=role)


def test_create_team_org_makes_the_creator_owner_and_active(member_client, user):
    response = member_client.post("/orgs/", {"name": "Acme Payments"})
    assert response.status_code == 302 and response["Location"] == "/orgs/members/"
    org = Organization.objects.get(name="Acme Payments")
    assert not org.is_personal and org.slug == "acme-payments"
    assert Membership.objects.get(organization=org, user=user).role == Role.OWNER
    assert member_client.session[SESSION_KEY] == org.pk
    assert b"Members of Acme Payments" in member_client.get("/orgs/members/").content


def test_create_org_requires_a_name(member_client):
    response = member_client.post("/orgs/", {"name": "   "})
    assert response.status_code == 400
    assert b"field-error" in response.content


def test_switching_changes_the_active_org_on_every_page(member_client, user, org):
    second = OrganizationFactory(name="Second Co", owner=user)
    response = member_client.post("/orgs/switch/", {"organization": second.pk, "next": "/orgs/members/"})
    assert response.status_code == 302 and response["Location"] == "/orgs/members/"
    assert b"Members of Second Co" in member_client.get("/orgs/members/").content
    assert b"Second Co" in member_client.get("/dashboard/").content


def test_switch_refuses_unsafe_next(member_client, user):
    second = OrganizationFactory(owner=user)
    response = member_client.post("/orgs/switch/", {"organization": second.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/dashboard/"


def test_a_stale_active_org_falls_back_to_a_membership(member_client, user, org):
    personal = services.organization_create_personal(user=user)
    Membership.objects.filter(organization=org, user=user).delete()
    response = member_client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["org"] == personal


def test_owner_changes_a_role_with_htmx_and_gets_the_panel_back(member_client, org):
    dev = _member(org, Role.DEVELOPER)
    response = member_client.post(f"/orgs/members/{dev.pk}/role/", {"role": "billing"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="members-panel"' in response.content and b"<html" not in response.content
    assert b"is now billing" in response.content
    dev.refresh_from_db()
    assert dev.role == Role.BILLING


def test_role_change_without_htmx_redirects_back(member_client, org):
    dev = _member(org, Role.DEVELOPER)
    response = member_client.post(f"/orgs/members/{dev.pk}/role/", {"role": "admin"})
    assert response.status_code == 302 and response["Location"] == "/orgs/members/"
    dev.refresh_from_db()
    assert dev.role == Role.ADMIN


def test_unknown_role_is_a_friendly_error(member_client, org):
    dev = _member(org, Role.DEVELOPER)
    response = member_client.post(f"/orgs/members/{dev.pk}/role/", {"role": "emperor"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["X-Tollgate-Status"] == "400"  # htmx swaps only 2xx
    assert b"Choose one of the listed roles" in response.content
    dev.refresh_from_db()
    assert dev.role == Role.DEVELOPER


def test_the_last_owner_cannot_be_demoted(user, org):
    owner = Membership.objects.get(organization=org, user=user)
    with pytest.raises(services.MembershipRuleViolation, match="last owner"):
        services.membership_change_role(membership=owner, role=Role.ADMIN, actor=owner)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_owner_can_step_down_once_there_is_another_owner(user, org):
    owner = Membership.objects.get(organization=org, user=user)
    second = _member(org, Role.OWNER)
    services.membership_change_role(membership=owner, role=Role.ADMIN, actor=owner)
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN
    with pytest.raises(services.MembershipRuleViolation):
        services.membership_change_role(membership=second, role=Role.DEVELOPER, actor=second)


def test_the_last_owner_cannot_be_removed(org, user):
    admin = _member(org, Role.ADMIN)
    owner = Membership.objects.get(organization=org, user=user)
    with pytest.raises(services.RoleNotAllowed):
        services.membership_remove(membership=owner, actor=admin)
    co_owner = _member(org, Role.OWNER)
    services.membership_remove(membership=owner, actor=co_owner)
    assert not Membership.objects.filter(pk=owner.pk).exists()
    with pytest.raises(services.MembershipRuleViolation):
        services.membership_remove(membership=co_owner, actor=co_owner)


def test_admins_manage_other_roles_but_not_owners(org, user):
    admin = _member(org, Role.ADMIN)
    dev = _member(org, Role.DEVELOPER)
    owner = Membership.objects.get(organization=org, user=user)
    services.membership_change_role(membership=dev, role=Role.BILLING, actor=admin)
    with pytest.raises(services.RoleNotAllowed):
        services.membership_change_role(membership=dev, role=Role.OWNER, actor=admin)
    with pytest.raises(services.RoleNotAllowed):
        services.membership_change_role(membership=owner, role=Role.DEVELOPER, actor=admin)
    services.membership_remove(membership=dev, actor=admin)
    assert not Membership.objects.filter(pk=dev.pk).exists()


def test_developers_and_billing_cannot_manage_members(client, org):
    for role in (Role.DEVELOPER, Role.BILLING):
        member = _member(org, role)
        target = _member(org, Role.DEVELOPER)
        client.force_login(member.user)
        session = client.session
        session[SESSION_KEY] = org.pk
        session.save()
        assert client.get("/orgs/members/").status_code == 200  # everyone sees the team
        assert client.post(f"/orgs/members/{target.pk}/role/", {"role": "admin"}).status_code == 403
        assert client.post(f"/orgs/members/{target.pk}/remove/").status_code == 403
        assert client.post("/orgs/invitations/", {"email": "x@example.com", "role": "developer"}).status_code == 403
        target.refresh_from_db()
        assert target.role == Role.DEVELOPER


def test_remove_member_page_flow(member_client, org):
    dev = _member(org, Role.DEVELOPER)
    response = member_client.post(f"/orgs/members/{dev.pk}/remove/", follow=True)
    assert response.status_code == 200
    assert f"Removed {dev.user.email}".encode() in response.content
    assert not Membership.objects.filter(pk=dev.pk).exists()


def test_leave_org(client, org):
    dev = _member(org, Role.DEVELOPER)
    client.force_login(dev.user)
    response = client.post("/orgs/leave/", {"organization": org.pk}, follow=True)
    assert b"You left" in response.content
    assert not Membership.objects.filter(pk=dev.pk).exists()


def test_last_owner_cannot_leave_and_personal_org_cannot_be_left(member_client, user, org):
    response = member_client.post("/orgs/leave/", {"organization": org.pk}, follow=True)
    assert b"last owner" in response.content
    assert Membership.objects.filter(organization=org, user=user).exists()
    personal = services.organization_create_personal(user=user)
    response = member_client.post("/orgs/leave/", {"organization": personal.pk}, follow=True)
    assert b"personal organization" in response.content


def test_demoting_the_last_owner_explains_why_in_the_panel(member_client, org, user):
    owner = Membership.objects.get(organization=org, user=user)
    response = member_client.post(f"/orgs/members/{owner.pk}/role/", {"role": "admin"}, headers={"HX-Request": "true"})
    assert response["X-Tollgate-Status"] == "409"
    assert b"last owner cannot be demoted" in response.content
    response = member_client.post(f"/orgs/members/{owner.pk}/role/", {"role": "admin"}, follow=True)
    assert b"last owner cannot be demoted" in response.content
