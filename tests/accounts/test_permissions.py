"""Role capabilities: the view decorator and the DRF permission share one table."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.request import Request

from accounts.models import Role
from accounts.permissions import CAPABILITIES, OrgCapability, has_capability, role_required
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    "manage_keys": {Role.OWNER, Role.ADMIN, Role.DEVELOPER},
    "manage_billing": {Role.OWNER, Role.ADMIN, Role.BILLING},
    "manage_members": {Role.OWNER, Role.ADMIN},
    "manage_organization": {Role.OWNER},
    "view_usage": set(Role),
}


@pytest.mark.parametrize("capability", sorted(EXPECTED))
@pytest.mark.parametrize("role", list(Role))
def test_role_capability_table(capability, role):
    membership = MembershipFactory.build(role=role)
    assert has_capability(membership, capability) is (role in EXPECTED[capability])


def test_unknown_capability_fails_fast():
    with pytest.raises(ValueError):
        has_capability(None, "launch_rockets")
    with pytest.raises(KeyError):
        OrgCapability.of("launch_rockets")
    assert set(EXPECTED) <= set(CAPABILITIES)


def _request(user, membership):
    request = RequestFactory().get("/x/")
    request.user = user
    request.membership = membership
    request.org = membership.organization if membership else None
    return request


def test_role_required_decorator(org):
    view = role_required("manage_billing")(lambda request: HttpResponse("ok"))
    billing = MembershipFactory(organization=org, role=Role.BILLING)
    developer = MembershipFactory(organization=org, role=Role.DEVELOPER)
    assert view(_request(billing.user, billing)).status_code == 200
    with pytest.raises(PermissionDenied):
        view(_request(developer.user, developer))
    from django.contrib.auth.models import AnonymousUser

    anonymous = view(_request(AnonymousUser(), None))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_drf_permission(org):
    permission = OrgCapability.of("manage_keys")()
    developer = MembershipFactory(organization=org, role=Role.DEVELOPER)
    billing = MembershipFactory(organization=org, role=Role.BILLING)

    def drf(user, membership):
        request = Request(_request(user, membership))
        request.user = user  # what DRF's authentication would have set
        return request

    assert permission.has_permission(drf(developer.user, developer), None)
    assert not permission.has_permission(drf(billing.user, billing), None)


def test_a_403_page_is_friendly(client, org):
    developer = MembershipFactory(organization=org, role=Role.DEVELOPER)
    other = MembershipFactory(organization=org, role=Role.DEVELOPER)
    client.force_login(developer.user)
    response = client.post(f"/orgs/members/{other.pk}/remove/")
    assert response.status_code == 403
    assert b"Your role can" in response.content
