"""Public site: pricing, docs, status and the OpenAPI schema (issue 6)."""

from django.urls import path

from portal.site import views

app_name = "site"

urlpatterns = [
    path("api/schema/", views.SchemaApi.as_view(), name="schema"),
    path("docs/", views.docs_swagger, name="docs"),
    path("docs/redoc/", views.docs_redoc, name="redoc"),
    path("docs/operations/", views.docs_operations, name="operations"),
    path("docs/operations/<str:operation_id>/", views.docs_operation, name="operation"),
    path("docs/getting-started/", views.docs_getting_started, name="getting_started"),
    path("docs/authentication/", views.docs_authentication, name="authentication"),
    path("docs/problems/", views.docs_problems, name="problems"),
    path("docs/postman.json", views.docs_postman, name="postman"),
    path("pricing/", views.pricing_page, name="pricing"),
    path("status/", views.status_page, name="status"),
    path("status.json", views.status_json, name="status_json"),
]
