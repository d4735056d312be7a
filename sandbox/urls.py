"""The sandbox's hosted pages (404 when the provider has a real secret key)."""

from __future__ import annotations

from django.urls import path

from sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("sandbox/checkout/<str:provider_name>/<str:reference>/", views.checkout_page, name="checkout"),
    path(
        "sandbox/checkout/<str:provider_name>/<str:reference>/authenticate/",
        views.authenticate_page,
        name="authenticate",
    ),
    path("sandbox/portal/<str:provider_name>/<str:object_id>/", views.portal_page, name="portal"),
]
