"""The members API: the members page's rules, for the session and for tokens."""

from __future__ import annotations

from typing import Any

from accounts.access_tokens import personal_access_token_create
from accounts.models import Invitation, Membership, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def token_for(membership, *scopes: str) -> dict[str, Any]:
    _token, raw = personal_access_token_create(membership=membership, name="script", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_members_are_listed_for_the_session_and_a_read_token(member_client, client, user, org):
    teammate = MembershipFactory.create(organization=org, role=Role.DEVELOPER)
    OrganizationFactory.create(owner=UserFactory.create())  # another organization's members are not listed
    listed = member_client.get("/api/members/").json()
    assert [(m["email"], m["role"]) for m in listed] == [(user.email, "owner"), (teammate.user.email, "developer")]
    headers = token_for(user.memberships.get(organization=org), "members:read")
    assert client.get("/api/members/", **headers).json() == listed


def test_a_token_invites_changes_a_role_and_removes_a_member(client, user, org, mailoutbox, deliver):
    headers = token_for(user.memberships.get(organization=org), "members:read", "members:write")
    invited = deliver(
        client.post,
        "/api/members/invitations/",
        {"email": "new@example.com", "role": "billing"},
        content_type="application/json",
        **headers,
    )
    assert invited.status_code == 201, invited.content
    assert invited.json()["invited_by"] == user.email and mailoutbox[-1].to == ["new@example.com"]
    assert [i["email"] for i in client.get("/api/members/invitations/", **headers).json()] == ["new@example.com"]
    assert client.delete(f"/api/members/invitations/{invited.json()['id']}/", **headers).status_code == 204
    assert not Invitation.objects.exists()

    teammate = MembershipFactory.create(organization=org, role=Role.DEVELOPER)
    changed = client.post(
        f"/api/members/{teammate.pk}/role/", {"role": "admin"}, content_type="application/json", **headers
    )
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert client.delete(f"/api/members/{teammate.pk}/", **headers).status_code == 204
    assert not Membership.objects.filter(pk=teammate.pk).exists()


def test_membership_rules_and_roles_apply(client, user, org):
    owner = user.memberships.get(organization=org)
    headers = token_for(owner, "members:write")
    last_owner = client.post(
        f"/api/members/{owner.pk}/role/", {"role": "admin"}, content_type="application/json", **headers
    )
    assert last_owner.status_code == 409 and last_owner["Content-Type"] == "application/problem+json"
    developer = MembershipFactory.create(organization=org, role=Role.DEVELOPER)
    dev_headers = token_for(developer, "members:read", "members:write")
    assert client.get("/api/members/", **dev_headers).status_code == 200
    refused = client.post(
        "/api/members/invitations/", {"email": "x@example.com"}, content_type="application/json", **dev_headers
    )
    assert refused.status_code == 403 and not Invitation.objects.exists()


def test_another_organizations_member_is_404_and_scopes_are_checked(client, user, org):
    stranger = OrganizationFactory.create(owner=UserFactory.create()).memberships.get()
    headers = token_for(user.memberships.get(organization=org), "members:write")
    assert client.delete(f"/api/members/{stranger.pk}/", **headers).status_code == 404
    assert Membership.objects.filter(pk=stranger.pk).exists()
    missing = client.get("/api/members/", **headers)
    assert missing.status_code == 403 and missing.json()["required_scope"] == "members:read"
