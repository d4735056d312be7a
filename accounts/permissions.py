"""Role checks for the active organization, for HTML views and DRF APIs alike.

Capabilities are named after what they allow, so callers say *why* a role may act:
``role_required("manage_keys")``. The billing role sees and pays invoices but cannot
create keys; developers manage keys but not billing or members.

A request authenticated with a personal access token must also hold the scope the view
declares (``scope_area`` / ``required_scope``, see ``accounts.scopes``): ``OrgCapability``
checks it first, and ``TokenScope`` does it alone for views without a role check.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import Organization, PersonalAccessToken, Role
from accounts.scopes import STAFF_ONLY_SCOPES, scope_required
from portal.problems import Forbidden, Problem

CAPABILITIES: dict[str, frozenset[str]] = {
    "view": frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING}),
    "manage_keys": frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER}),
    "view_usage": frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING}),
    "manage_billing": frozenset({Role.OWNER, Role.ADMIN, Role.BILLING}),
    "manage_webhooks": frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER}),
    "manage_members": frozenset({Role.OWNER, Role.ADMIN}),
    "manage_organization": frozenset({Role.OWNER}),
}


def has_capability(membership, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    return membership is not None and membership.role in CAPABILITIES[capability]


def role_required(capability: str):
    """View decorator: signed in, a member of the active organization, with the capability."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_capability(getattr(request, "membership", None), capability):
                raise PermissionDenied(f"Your role cannot {capability.replace('_', ' ')}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class TokenScopeMissing(Forbidden):
    """The personal access token does not hold the scope this operation needs; `required_scope`
    names it. Create a token with that scope on your account page."""

    slug, title = "insufficient-scope", "Token scope missing"


def token_scope_check(request: Any, view: Any) -> None:
    """Raise unless the request is not token-authenticated, or its token holds the scope the
    view declares for this method. A view that declares none refuses every token."""
    token = getattr(request, "auth", None)
    if not isinstance(token, PersonalAccessToken):
        return
    scope = scope_required(view, request.method)
    if scope is None:
        raise Forbidden("This operation does not accept personal access tokens.")
    if scope not in token.scopes:
        raise TokenScopeMissing(f"This token does not have the `{scope}` scope.", required_scope=scope)
    if scope in STAFF_ONLY_SCOPES and not request.user.is_staff:
        raise TokenScopeMissing(f"The `{scope}` scope only works for operators.", required_scope=scope)


class TokenScope(BasePermission):
    """DRF permission: the token scope check alone (it is part of ``OrgCapability`` too)."""

    def has_permission(self, request, view) -> bool:
        token_scope_check(request, view)
        return True


class OrgCapability(BasePermission):
    """DRF permission: ``permission_classes = [OrgCapability.of("manage_keys")]``. For a token
    request the token's scope is checked first (``token_scope_check``)."""

    capability = "view"
    message = "Your role in this organization does not allow this action."

    @classmethod
    def of(cls, capability: str) -> type[OrgCapability]:
        CAPABILITIES[capability]  # fail fast on a typo
        return type(f"OrgCapability_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token_scope_check(request, view)
        return has_capability(getattr(request._request, "membership", None), self.capability)


class NoOrganization(Problem):
    status, slug, title = 403, "no-organization", "No active organization"


def active_organization(request: Any) -> Organization:
    """The organization an API request acts on (chosen by ``accounts.middleware``); a
    ``NoOrganization`` problem when the caller has none."""
    org = getattr(getattr(request, "_request", request), "org", None)
    if org is None:
        raise NoOrganization("Select an organization first.")
    return org
