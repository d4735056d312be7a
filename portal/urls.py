from django.contrib import admin
from django.urls import include, path

from portal import views

handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("orgs/", include("accounts.urls")),
    path("plans/", include("plans.urls")),
    path("keys/", include("keys.urls")),
    path("usage/", include("usage.urls")),
    path("billing/", include("billing.urls")),
    path("", include("gateway.urls")),
    path("admin/", admin.site.urls),
]
