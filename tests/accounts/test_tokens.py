"""Personal access tokens: scripts call /api/… as the member would in the browser, limited to
the token's scopes, in the token's organization."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.access_tokens import personal_access_token_create, personal_access_token_revoke
from accounts.authentication import PersonalAccessTokenAuthentication
from accounts.models import Membership, PersonalAccessToken, Role
from accounts.permissions import OrgCapability, TokenScope
from accounts.scopes import SCOPES, STAFF_ONLY_SCOPES, scope_required
from accounts.services import membership_change_role
from keys.models import ApiKey
from keys.services import api_key_create
from portal.crypto import secret_digest
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

ALL_SCOPES = [scope for scope in SCOPES if scope not in STAFF_ONLY_SCOPES]


def issue(membership: Membership, scopes=("keys:read", "keys:write"), **kwargs) -> str:
    _token, raw = personal_access_token_create(membership=membership, name="script", scopes=list(scopes), **kwargs)
    return raw


def bearer(raw: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def member_of(org, role: str) -> Membership:
    return MembershipFactory.create(organization=org, user=UserFactory.create(), role=role)


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"].endswith(f"#{slug}")
    return body


# --- scripting the API exactly as the browser would ----------------------------------------
def test_a_token_lists_and_creates_keys_exactly_as_the_browser_session(member_client, user, org):
    api_key_create(org=org, user=user, name="existing")
    raw = issue(user.memberships.get(organization=org))
    script = Client(enforce_csrf_checks=True)  # no session, no CSRF token: a script

    listed = script.get("/api/keys/", **bearer(raw))
    assert listed.status_code == 200
    assert listed.json() == member_client.get("/api/keys/").json()

    created = script.post(
        "/api/keys/create/", {"name": "CI", "mode": "test"}, content_type="application/json", **bearer(raw)
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"].startswith("tg_test_")
    key = ApiKey.objects.get(pk=body["id"])
    assert key.organization == org and key.created_by == user
    assert member_client.get("/api/keys/").json()[0]["id"] == body["id"]


def test_a_token_acts_in_its_own_organization_not_the_sessions(client, user, org):
    team = OrganizationFactory.create(owner=user)
    team_key, _ = api_key_create(org=team, user=user, name="team key")
    own_key, _ = api_key_create(org=org, user=user, name="own key")
    raw = issue(user.memberships.get(organization=team), scopes=["keys:read"])

    assert [k["id"] for k in client.get("/api/keys/", **bearer(raw)).json()] == [team_key.pk]
    assert client.get(f"/api/keys/{team_key.pk}/", **bearer(raw)).status_code == 200
    # Another organization's key — even one of the same user — is a 404 for this token.
    assert_problem(client.get(f"/api/keys/{own_key.pk}/", **bearer(raw)), 404, "not-found")
    stranger_key, _ = api_key_create(org=OrganizationFactory.create(owner=UserFactory()), name="theirs")
    assert_problem(client.get(f"/api/keys/{stranger_key.pk}/", **bearer(raw)), 404, "not-found")


def test_usage_webhooks_and_billing_answer_tokens_with_their_scopes(client, user, org, plans):
    raw = issue(user.memberships.get(organization=org), scopes=["usage:read", "webhooks:read", "billing:read"])
    for path in ("/api/usage/quota/", "/api/billing/webhooks/", "/api/billing/invoices/", "/api/billing/subscription/"):
        assert client.get(path, **bearer(raw)).status_code == 200, path


# --- roles apply ---------------------------------------------------------------------------
def test_a_developers_token_cannot_touch_billing_even_with_the_scope(client, org, plans):
    developer = member_of(org, Role.DEVELOPER)
    raw = issue(developer, scopes=["billing:read", "keys:read"])
    body = assert_problem(client.get("/api/billing/invoices/", **bearer(raw)), 403, "forbidden")
    assert "role" in body["detail"]
    assert client.get("/api/keys/", **bearer(raw)).status_code == 200


def test_a_billing_members_token_cannot_create_keys_even_with_the_scope(client, org):
    raw = issue(member_of(org, Role.BILLING), scopes=["keys:read", "keys:write"])
    assert client.get("/api/keys/", **bearer(raw)).status_code == 200
    assert_problem(
        client.post("/api/keys/create/", {"name": "x"}, content_type="application/json", **bearer(raw)),
        403,
        "forbidden",
    )
    assert not ApiKey.objects.exists()


def test_a_role_change_applies_to_the_next_request(client, user, org, plans):
    admin = member_of(org, Role.ADMIN)
    raw = issue(admin, scopes=["billing:read"])
    assert client.get("/api/billing/invoices/", **bearer(raw)).status_code == 200
    membership_change_role(membership=admin, role=Role.DEVELOPER, actor=user.memberships.get(organization=org))
    assert_problem(client.get("/api/billing/invoices/", **bearer(raw)), 403, "forbidden")


def test_leaving_the_organization_ends_the_token(client, org):
    member = member_of(org, Role.DEVELOPER)
    raw = issue(member)
    member.delete()
    assert_problem(client.get("/api/keys/", **bearer(raw)), 401, "invalid-credentials")


# --- invalid tokens and scopes -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["wrong", "truncated", "revoked", "expired", "inactive user"])
def test_unknown_revoked_or_expired_tokens_are_401_problems(client, user, org, kind):
    membership = user.memberships.get(organization=org)
    token, raw = personal_access_token_create(membership=membership, name="t", scopes=["keys:read"])
    if kind == "wrong":
        raw = raw[:12] + ("A" if raw[12] != "A" else "B") + raw[13:]
    elif kind == "truncated":
        raw = raw[:-1]
    elif kind == "revoked":
        personal_access_token_revoke(token=token)
    elif kind == "expired":
        PersonalAccessToken.objects.filter(pk=token.pk).update(
            created_at=timezone.now() - timedelta(days=91), expires_at=timezone.now() - timedelta(seconds=1)
        )
    else:
        user.is_active = False
        user.save(update_fields=["is_active"])
    response = client.get("/api/keys/", **bearer(raw))
    assert_problem(response, 401, "invalid-credentials")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_other_bearer_credentials_are_left_to_other_schemes(client):
    """An API key or a JWT sent to /api/ is not a token: the usual refusal, not a token 401."""
    response = client.get("/api/keys/", HTTP_AUTHORIZATION="Bearer tg_test_" + "x" * 32)
    assert response.status_code == 403


def test_a_missing_scope_is_a_403_naming_the_scope(client, user, org):
    raw = issue(user.memberships.get(organization=org), scopes=["keys:read"])
    response = client.post("/api/keys/create/", {"name": "x"}, content_type="application/json", **bearer(raw))
    body = assert_problem(response, 403, "insufficient-scope")
    assert body["required_scope"] == "keys:write" and "keys:write" in body["detail"]
    assert_problem(client.get("/api/usage/quota/", **bearer(raw)), 403, "insufficient-scope")


def test_a_view_that_declares_no_scope_refuses_tokens(user, org):
    class Undeclared(APIView):
        permission_classes = [OrgCapability.of("view")]

        def get(self, request):  # pragma: no cover - never reached
            raise AssertionError

    raw = issue(user.memberships.get(organization=org), scopes=ALL_SCOPES)
    response = Undeclared.as_view()(APIRequestFactory().get("/api/x/", **bearer(raw)))
    assert response.status_code == 403 and "does not accept personal access tokens" in response.data["detail"]


def _api_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (cls := getattr(pattern.callback, "cls", None)):
                yield prefix + str(pattern.pattern), cls

    return [
        (route, cls)
        for route, cls in walk(get_resolver().url_patterns)
        if issubclass(cls, APIView) and PersonalAccessTokenAuthentication in cls.authentication_classes
    ]


def test_every_api_view_that_accepts_tokens_checks_a_known_scope():
    """The secure default holds for every routed view: a token can only reach a view whose
    permissions check its scope, and every declared scope is one a token can hold."""
    views = _api_views()
    routes = {route for route, _cls in views}
    for expected in (
        "api/keys/",
        "api/usage/",
        "api/billing/invoices/",
        "api/billing/webhooks/",
        "api/members/",
    ):
        assert expected in routes
    for route, cls in views:
        permissions = cls.permission_classes
        if all(issubclass(p, AllowAny) for p in permissions):
            continue  # public (the schema): a token adds nothing
        # (a tuple: DRF permission classes overload | to compose permissions)
        assert any(issubclass(p, (OrgCapability, TokenScope)) for p in permissions), route
        for method in cls().allowed_methods:
            if method == "OPTIONS":
                continue
            scope = scope_required(cls, method)
            assert scope in SCOPES, (route, method, scope)


def test_products_write_is_only_for_operators(user, org):
    with pytest.raises(Exception, match="Not a scope you can grant"):
        issue(user.memberships.get(organization=org), scopes=["products:write"])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert issue(user.memberships.get(organization=org), scopes=["products:write"]).startswith("tgp_")


def test_expiry_is_required_and_at_most_a_year(user, org):
    membership = user.memberships.get(organization=org)
    token, _ = personal_access_token_create(membership=membership, name="t", scopes=["keys:read"])
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    for expires_at in (timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(days=366)):
        with pytest.raises(Exception, match="expiry"):
            personal_access_token_create(membership=membership, name="t", scopes=["keys:read"], expires_at=expires_at)
    with pytest.raises(Exception, match="at least one scope"):
        personal_access_token_create(membership=membership, name="t", scopes=[])


# --- storage and last use ------------------------------------------------------------------
def test_the_secret_is_never_stored_in_clear(member_client, org):
    response = member_client.post(
        "/accounts/tokens/", {"name": "deploy", "organization": org.pk, "scopes": ["keys:read"], "expires_in_days": 30}
    )
    found = re.search(r'id="new-token-secret">(tgp_[A-Za-z0-9_-]{32})<', response.content.decode())
    assert found
    secret = found.group(1)
    token = PersonalAccessToken.objects.get()
    assert token.digest == secret_digest(secret) and token.prefix == secret[:12]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_personalaccesstoken")
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
