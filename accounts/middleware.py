"""Sets ``request.org`` and ``request.membership`` to the signed-in user's active organization.

The active organization id lives in the session (switching organizations changes it); a
stale id (membership removed) falls back to the user's default organization. Anonymous
requests (including API calls that carry no session cookie) cost no query here.
"""

from __future__ import annotations

from accounts.selectors import default_membership

SESSION_KEY = "active_org_id"


def active_membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    org_id = request.session.get(SESSION_KEY)
    membership = None
    if org_id is not None:
        membership = user.memberships.select_related("organization").filter(organization_id=org_id).first()
    if membership is None:
        membership = default_membership(user=user)
        if membership is not None:
            request.session[SESSION_KEY] = membership.organization_id
    return membership


class ActiveOrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = active_membership(request)
        request.org = request.membership.organization if request.membership else None
        return self.get_response(request)
