"""Personal access tokens in the browser: the account page that lists, creates (shown once,
no-store) and revokes them, and the OpenAPI schema that documents them."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.access_tokens import personal_access_token_create
from accounts.models import PersonalAccessToken, Role
from tests.accounts.test_tokens import assert_problem, bearer, issue, member_of
from tests.factories import OrganizationFactory, UserFactory


def test_the_reveal_is_no_store_and_shown_once(member_client, org):
    response = member_client.post(
        "/accounts/tokens/",
        {"name": "deploy", "organization": org.pk, "scopes": ["keys:read", "usage:read"], "expires_in_days": 90},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    found = re.search(r"tgp_[A-Za-z0-9_-]{32}", response.content.decode())
    assert found
    secret = found.group(0)
    page = member_client.get("/accounts/tokens/").content.decode()
    assert secret not in page and secret[:12] in page and "keys:read, usage:read" in page


def test_last_used_is_recorded_at_most_once_a_minute(client, user, org):
    raw = issue(user.memberships.get(organization=org), scopes=["keys:read"])
    token = PersonalAccessToken.objects.get()
    assert token.last_used_at is None

    def updates(n: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(n):
                assert client.get("/api/keys/", **bearer(raw)).status_code == 200
        return sum(q["sql"].startswith('UPDATE "accounts_personalaccesstoken"') for q in queries.captured_queries)

    assert updates(5) == 1
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert updates(3) == 1
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=2)


# --- the account page ------------------------------------------------------------------------
def test_the_page_lists_the_users_tokens_across_organizations(member_client, user, org):
    team = OrganizationFactory.create(owner=user, name="Team Rocket")
    issue(user.memberships.get(organization=org))
    issue(user.memberships.get(organization=team))
    issue(member_of(org, Role.DEVELOPER))  # a teammate's token: not listed
    page = member_client.get("/accounts/tokens/").content.decode()
    assert page.count('id="token-') == 2 and "Team Rocket" in page
    assert "products:write" not in page  # not an operator


def test_the_form_refuses_an_organization_the_user_is_not_in(member_client, org):
    stranger = OrganizationFactory.create(owner=UserFactory())
    response = member_client.post(
        "/accounts/tokens/", {"name": "x", "organization": stranger.pk, "scopes": ["keys:read"], "expires_in_days": 30}
    )
    assert response.status_code == 400 and not PersonalAccessToken.objects.exists()


def test_revoking_from_the_page_stops_the_token_and_only_your_own(member_client, client, user, org):
    raw = issue(user.memberships.get(organization=org))
    token = PersonalAccessToken.objects.get()
    teammate_token, _ = personal_access_token_create(
        membership=member_of(org, Role.ADMIN), name="t", scopes=["keys:read"]
    )
    assert member_client.post(f"/accounts/tokens/{teammate_token.pk}/revoke/").status_code == 404
    assert member_client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert_problem(Client().get("/api/keys/", **bearer(raw)), 401, "invalid-credentials")
    teammate_token.refresh_from_db()
    assert teammate_token.revoked_at is None


def test_the_schema_documents_the_token_and_its_scope_per_operation(client, plans):
    document = client.get("/api/schema/?format=json").json()
    assert document["components"]["securitySchemes"]["PersonalAccessToken"]["scheme"] == "bearer"
    security = document["paths"]["/api/keys/create/"]["post"]["security"]
    assert {"PersonalAccessToken": ["keys:write"]} in security
    assert {"PersonalAccessToken": ["usage:read"]} in document["paths"]["/api/usage/quota/"]["get"]["security"]
