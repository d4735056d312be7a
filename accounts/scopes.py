"""What a personal access token may do: the fixed set of scopes and how a view names its own.

A scope is ``<area>:read`` or ``<area>:write``. Every customer API view declares its area
(``scope_area = "keys"``); a safe method (GET, HEAD, OPTIONS) needs the area's read
scope, anything else its write scope. A view that needs one particular scope whatever the
method (an operator's catalogue push) says so with ``required_scope = "products:write"``. A view
that declares neither refuses tokens: a new endpoint is closed to scripts until someone
decides which scope opens it.

Scopes only narrow what a token can do. The member's role still decides (a developer's token
with ``billing:read`` still cannot read invoices), and the organization is the token's own.
Scopes are explicit: a token with no scopes can do nothing, so a token never silently gains
power when a new area is added.
"""

from __future__ import annotations

from typing import Any

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SCOPES: dict[str, str] = {
    "keys:read": "List and read API keys",
    "keys:write": "Create, rotate and revoke API keys",
    "usage:read": "Read usage, quota and the usage ledger",
    "billing:read": "Read the subscription and invoices",
    "billing:write": "Change the plan and billing details",
    "webhooks:read": "List webhook endpoints and their deliveries",
    "webhooks:write": "Register, test and delete webhook endpoints",
    "members:read": "List members and invitations",
    "members:write": "Invite, change roles of and remove members",
    "products:write": "Push API product catalogues (operators only)",
    "keys:verify": "Verify and charge customers' keys from your backend (operators only)",
}

# Granted only to staff users (operators), and honoured only while the user is still staff.
STAFF_ONLY_SCOPES = frozenset({"products:write", "keys:verify"})


def scopes_grantable(*, is_staff: bool) -> list[str]:
    """The scopes a user may put on a token, in display order."""
    return [scope for scope in SCOPES if is_staff or scope not in STAFF_ONLY_SCOPES]


def scope_required(view: Any, method: str) -> str | None:
    """The scope a token needs to call ``view`` with ``method``; None = tokens are refused."""
    explicit = getattr(view, "required_scope", None)
    if explicit:
        return explicit
    area = getattr(view, "scope_area", None)
    if not area:
        return None
    return f"{area}:{'read' if method.upper() in READ_METHODS else 'write'}"
