from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import organizations_for_user


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/organization_list.html", {"organizations": organizations_for_user(user=request.user)})
