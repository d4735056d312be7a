"""``Authorization: Bearer tgp_…``: a personal access token on the customer API (``/api/…``).

A token stands for one member of one organization. On success the request looks exactly like
that member's browser request with that organization active: ``request.user`` is the member,
and ``request.org`` / ``request.membership`` on the Django request are set as
``accounts.middleware.ActiveOrganizationMiddleware`` sets them, so
``accounts.permissions.active_organization`` and ``OrgCapability`` apply unchanged. What the
token may do on top of that is its scopes, checked by ``accounts.permissions`` per view.

DRF enforces CSRF only for ``SessionAuthentication``, so a token request needs no CSRF token;
a request that also carries a session cookie is authenticated by the session (listed first).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.access_tokens import personal_access_token_touch
from accounts.models import TOKEN_PREFIX, PersonalAccessToken, User
from accounts.scopes import scope_required
from accounts.selectors import personal_access_token_for_secret
from portal.problems import Problem

WWW_AUTHENTICATE = 'Bearer realm="api"'


class TokenInvalid(Problem):
    """The personal access token is unknown, revoked or expired (the answer does not say which)."""

    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class PersonalAccessTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[User, PersonalAccessToken] | None:
        scheme, _, credential = get_authorization_header(request).decode("latin-1").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential.startswith(TOKEN_PREFIX):
            return None  # not ours: another scheme (or none) decides
        token = personal_access_token_for_secret(raw=credential)
        if token is None or not token.membership.user.is_active:
            # A Problem, not DRF's AuthenticationFailed: DRF turns that into a 403 whenever the
            # first authentication class (the session) sends no WWW-Authenticate challenge.
            raise TokenInvalid(
                "This personal access token is unknown, revoked or expired.",
                headers={"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
            )
        membership = token.membership
        django_request = request._request
        django_request.membership = membership
        django_request.org = membership.organization
        personal_access_token_touch(token=token)
        return membership.user, token

    def authenticate_header(self, request: Any) -> str:
        return WWW_AUTHENTICATE


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token on every operation that accepts one, with the scope it needs (OpenAPI
    3.1 allows role names in the requirement of a non-OAuth scheme)."""

    target_class = PersonalAccessTokenAuthentication
    name = "PersonalAccessToken"

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
        scope = scope_required(auto_schema.view, auto_schema.method)
        return {self.name: [scope]} if scope else []  # [] = not listed: the view refuses tokens

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tgp_… personal access token",
            "description": "A personal access token from your account page (`Authorization: Bearer tgp_…`): acts as "
            "you in the token's organization, limited to its scopes. The scope an operation needs is "
            "listed in its security requirement.",
        }
