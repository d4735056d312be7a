"""Organization pages (list/create/switch, members, invitations, leave) and the account's
personal access tokens.

Views stay thin: they parse the form, call a service, and turn a domain error into a
friendly message. With htmx (``HX-Request``) the members page swaps its panel in place;
without JavaScript every form still posts and redirects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.access_tokens import personal_access_token_create, personal_access_token_revoke
from accounts.forms import AccessTokenCreateForm, InvitationCreateForm, OrganizationCreateForm, RoleChangeForm
from accounts.middleware import SESSION_KEY
from accounts.models import Role, User
from accounts.permissions import has_capability, role_required
from portal.problems import Problem

ROLE_HELP = [
    (Role.OWNER.label, "Everything, including deleting the organization and managing owners."),
    (Role.ADMIN.label, "Manages members, keys, webhooks and billing."),
    (Role.DEVELOPER.label, "Creates and rotates API keys, sees usage and webhooks."),
    (Role.BILLING.label, "Sees usage, pays invoices and changes the plan; no keys."),
]


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organization_create(name=form.cleaned_data["name"], owner=request.user)
        except Problem as exc:
            form.add_error("name", exc.detail)
        else:
            request.session[SESSION_KEY] = org.pk
            messages.success(
                request, f"Created {org.name}. It is now your active organization — invite your team below."
            )
            return redirect("accounts:members")
    return render(
        request,
        "accounts/organization_list.html",
        {"memberships": selectors.memberships_for_user(user=request.user), "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_get(user=request.user, organization_id=request.POST.get("organization", ""))
    request.session[SESSION_KEY] = membership.organization_id
    messages.success(request, f"Switched to {membership.organization.name}.")
    return redirect(_safe_next(request, reverse("dashboard")))


@login_required
@require_POST
def organization_leave(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_get(user=request.user, organization_id=request.POST.get("organization", ""))
    try:
        services.membership_leave(membership=membership)
    except Problem as exc:
        messages.error(request, exc.detail)
        return redirect("accounts:organizations")
    if request.session.get(SESSION_KEY) == membership.organization_id:
        request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You left {membership.organization.name}.")
    return redirect("accounts:organizations")


# --- Members and invitations of the active organization --------------------------------------
def _members_context(request: HttpRequest, *, invite_form: InvitationCreateForm | None = None) -> dict:
    org = request.org
    can_manage = has_capability(request.membership, "manage_members")
    return {
        "org": org,
        "members": selectors.members_of(org=org),
        "invitations": selectors.invitations_open_for(org=org) if can_manage else [],
        "invite_form": invite_form or InvitationCreateForm(),
        "can_manage": can_manage,
        "is_owner": request.membership.role == Role.OWNER,
        "roles": Role.choices,
        "role_help": ROLE_HELP,
    }


def _members_response(
    request: HttpRequest, *, invite_form: InvitationCreateForm | None = None, status: int = 200
) -> HttpResponse:
    """htmx swaps just the panel; a plain form post redirects back to the page (PRG).

    htmx does not swap 4xx answers, so the panel (with its error message) goes back as 200
    and the real status travels in ``X-Tollgate-Status`` for scripts and tests."""
    if request.htmx:
        response = render(request, "accounts/_members_panel.html", _members_context(request, invite_form=invite_form))
        response["X-Tollgate-Status"] = str(status)
        return response
    if invite_form is not None and invite_form.errors:
        return render(
            request, "accounts/members.html", _members_context(request, invite_form=invite_form), status=status
        )
    return redirect("accounts:members")


@role_required("view")
def members(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/members.html", _members_context(request))


@role_required("manage_members")
@require_POST
def member_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.member_get(org=request.org, membership_id=membership_id)
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return _members_response(request, status=400)
    try:
        services.membership_change_role(membership=target, role=form.cleaned_data["role"], actor=request.membership)
    except Problem as exc:
        messages.error(request, exc.detail)
        return _members_response(request, status=exc.status)
    messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return _members_response(request)


@role_required("manage_members")
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    target = selectors.member_get(org=request.org, membership_id=membership_id)
    try:
        services.membership_remove(membership=target, actor=request.membership)
    except Problem as exc:
        messages.error(request, exc.detail)
        return _members_response(request, status=exc.status)
    messages.success(request, f"Removed {target.user.email} from {request.org.name}.")
    return _members_response(request)


@role_required("manage_members")
@require_POST
def invitation_create(request: HttpRequest) -> HttpResponse:
    form = InvitationCreateForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                organization=request.org,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except Problem as exc:
            form.add_error("email", exc.detail)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return _members_response(request)
    return _members_response(request, invite_form=form, status=400)


@role_required("manage_members")
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(org=request.org, invitation_id=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.membership)
    except Problem as exc:
        messages.error(request, exc.detail)
        return _members_response(request, status=exc.status)
    messages.success(request, f"Revoked the invitation for {invitation.email}.")
    return _members_response(request)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email. Signed out: offer sign-up (the address counts as verified,
    since the person just proved they read its mail) or log-in, then come back here."""
    invitation = selectors.invitation_by_token(token=token)
    context = {"invitation": invitation, "next": request.get_full_path()}
    if not invitation.is_open:
        reason = "already been used" if invitation.accepted_at else "expired"
        return render(request, "accounts/invitation_accept.html", {**context, "unusable": reason}, status=410)
    if not request.user.is_authenticated:
        get_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "accounts/invitation_accept.html", context)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except Problem as exc:
            messages.error(request, exc.detail)
            return render(request, "accounts/invitation_accept.html", context, status=exc.status)
        request.session[SESSION_KEY] = membership.organization_id
        messages.success(
            request,
            f"Welcome to {membership.organization.name}! You joined as {membership.get_role_display().lower()}.",
        )
        return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", context)


# --- Personal access tokens of the signed-in user (all their organizations) -----------------
def _signed_in(request: HttpRequest) -> User:
    return cast("User", request.user)  # behind login_required: never AnonymousUser


def _tokens_page(request: HttpRequest, *, form: AccessTokenCreateForm, status: int = 200, **extra) -> HttpResponse:
    tokens = selectors.personal_access_tokens_for_user(user=_signed_in(request))
    context = {"tokens": tokens, "form": form, **extra}
    return render(request, "accounts/access_tokens.html", context, status=status)


def _token_form(request: HttpRequest, data=None) -> AccessTokenCreateForm:
    user = _signed_in(request)
    memberships = list(selectors.memberships_for_user(user=user))
    org = getattr(request, "org", None)
    initial = {"organization": org.pk} if org else {}
    return AccessTokenCreateForm(data, initial=initial, memberships=memberships, is_staff=user.is_staff)


@login_required
def access_tokens(request: HttpRequest) -> HttpResponse:
    """List and create tokens. A created token's secret is in this one response only, which
    therefore must not be stored by the browser or any cache (no-store)."""
    if request.method != "POST":
        return _tokens_page(request, form=_token_form(request))
    form = _token_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        membership = selectors.membership_get(user=_signed_in(request), organization_id=data["organization"])
        try:
            token, secret = personal_access_token_create(
                membership=membership,
                name=data["name"],
                scopes=data["scopes"],
                expires_at=timezone.now() + timedelta(days=data["expires_in_days"]),
            )
        except Problem as exc:
            for field, errors in exc.extra.get("errors", {"__all__": [exc.detail]}).items():
                field = {"expires_at": "expires_in_days"}.get(field, field)
                form.add_error(field if field in form.fields else None, errors)
        else:
            response = _tokens_page(request, form=_token_form(request), created=token, secret=secret)
            add_never_cache_headers(response)
            return response
    return _tokens_page(request, form=form, status=400)


@login_required
@require_POST
def access_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.personal_access_token_get(user=_signed_in(request), token_id=token_id)
    personal_access_token_revoke(token=token)
    messages.success(request, f"Revoked “{token.name}”. Requests with it are refused from now on.")
    return redirect("accounts:tokens")
