"""Role checks for the active organization, for HTML views and DRF APIs alike.

Capabilities are named after what they allow, so callers say *why* a role may act:
``role_required("manage_keys")``. The billing role sees and pays invoices but cannot
create keys; developers manage keys but not billing or members.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import Organization, Role
from portal.problems import Problem

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


class OrgCapability(BasePermission):
    """DRF permission: ``permission_classes = [OrgCapability.of("manage_keys")]``."""

    capability = "view"
    message = "Your role in this organization does not allow this action."

    @classmethod
    def of(cls, capability: str) -> type[OrgCapability]:
        CAPABILITIES[capability]  # fail fast on a typo
        return type(f"OrgCapability_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and has_capability(
            getattr(request._request, "membership", None), self.capability
        )


class NoOrganization(Problem):
    status, slug, title = 403, "no-organization", "No active organization"


def active_organization(request: Any) -> Organization:
    """The organization an API request acts on (chosen by ``accounts.middleware``); a
    ``NoOrganization`` problem when the caller has none."""
    org = getattr(getattr(request, "_request", request), "org", None)
    if org is None:
        raise NoOrganization("Select an organization first.")
    return org
