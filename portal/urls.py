"""Root URLconf. Each app's ``urls.py`` owns its full paths (HTML pages under their own
prefix, the customer REST API under ``api/``, the monetized API under ``v1/``), so apps
never need to edit this file."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from portal import views
from public.views.landing import landing

handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", landing, name="landing"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("favicon.ico", views.favicon),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("admin/", admin.site.urls),
    path("", include("public.urls")),  # pricing, docs, status, OpenAPI schema
    path("", include("accounts.urls")),
    path("", include("products.urls")),
    path("", include("keys.urls")),
    path("", include("usage.urls")),
    path("", include("webhooks.urls")),
    path("", include("billing.urls")),
    path("", include("sandbox.urls")),
    path("", include("gateway.urls")),
    path("", include("console.urls")),
]
