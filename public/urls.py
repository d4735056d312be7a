"""Public site: landing, pricing, docs, status and the OpenAPI schema."""

from __future__ import annotations

from django.urls import path

from public.views import docs, pricing, status

app_name = "public"

urlpatterns = [
    path("api/schema/", docs.SchemaApi.as_view(), name="schema"),
    path("docs/", docs.docs_swagger, name="docs"),
    path("docs/redoc/", docs.docs_redoc, name="redoc"),
    path("docs/operations/", docs.docs_operations, name="operations"),
    path("docs/operations/<str:operation_id>/", docs.docs_operation, name="operation"),
    path("docs/getting-started/", docs.docs_getting_started, name="getting_started"),
    path("docs/authentication/", docs.docs_authentication, name="authentication"),
    path("docs/problems/", docs.docs_problems, name="problems"),
    path("docs/postman.json", docs.docs_postman, name="postman"),
    path("pricing/", pricing.pricing_page, name="pricing"),
    path("status/", status.status_page, name="status"),
    path("status.json", status.status_json, name="status_json"),
]
