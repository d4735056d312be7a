"""Key pages (htmx). Reads go through keys.selectors (org-scoped), writes through keys.services."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import has_capability, role_required
from keys.forms import KeyCreateForm, KeyRotateForm
from keys.selectors import api_key_get, api_keys_for_org
from keys.services import api_key_create, api_key_revoke, api_key_rotate
from portal.problems import Problem


def _context(request, **extra):
    return {
        "keys": api_keys_for_org(org=request.org),
        "can_manage": has_capability(request.membership, "manage_keys"),
        "form": KeyCreateForm(org=request.org),
        "rotate_form": KeyRotateForm(),
        **extra,
    }


@require_GET
@role_required("view")
def key_list(request: HttpRequest) -> HttpResponse:
    return render(request, "keys/key_list.html", _context(request))


@never_cache  # shows the new key: no browser or proxy may keep a copy
@require_POST
@role_required("manage_keys")
def key_create(request: HttpRequest) -> HttpResponse:
    form = KeyCreateForm(request.POST, org=request.org)
    created = raw = None
    if form.is_valid():
        try:
            created, raw = api_key_create(org=request.org, user=request.user, **form.cleaned_data)
            form = KeyCreateForm(org=request.org)
        except Problem as problem:
            form.add_error(None, problem.detail)
    context = _context(request, form=form, created=created, secret=raw)
    template = "keys/_panel.html" if request.htmx else "keys/key_list.html"
    return render(request, template, context, status=200 if created or not form.errors else 422)


@require_POST
@role_required("manage_keys")
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key_revoke(key=api_key_get(org=request.org, key_id=key_id), user=request.user)
    template = "keys/_panel.html" if request.htmx else "keys/key_list.html"
    return render(request, template, _context(request, notice="Key revoked. It is refused from now on."))


@never_cache  # shows the replacement key
@require_POST
@role_required("manage_keys")
def key_rotate(request: HttpRequest, key_id: int) -> HttpResponse:
    old = api_key_get(org=request.org, key_id=key_id)
    form = KeyRotateForm(request.POST)
    created = raw = None
    error = None
    if form.is_valid():
        try:
            created, raw = api_key_rotate(
                key=old, overlap=timedelta(seconds=form.cleaned_data["overlap_seconds"]), user=request.user
            )
            old.refresh_from_db()
        except Problem as problem:
            error = problem.detail
    else:
        error = "Choose how long the old key keeps working."
    template = "keys/_panel.html" if request.htmx else "keys/key_list.html"
    return render(
        request,
        template,
        _context(request, created=created, secret=raw, error=error, rotated=old),
        status=422 if error else 200,
    )


@login_required
@require_GET
def key_card(request: HttpRequest) -> HttpResponse:
    keys = list(api_keys_for_org(org=request.org)) if request.org else []
    active = [k for k in keys if k.status in ("active", "rotating")]
    return render(
        request,
        "keys/_card.html",
        {
            "active_count": len(active),
            "live_count": sum(k.mode == "live" for k in active),
            "test_count": sum(k.mode == "test" for k in active),
            "last_used": max((k.last_used_at for k in keys if k.last_used_at), default=None),
            "can_manage": has_capability(request.membership, "manage_keys"),
        },
    )
