"""Public site: pricing, docs, status and the OpenAPI schema (issue 6)."""

from django.urls import path  # noqa: F401

app_name = "site"

urlpatterns: list = []
