"""The operator API for API products (the console's pages live in ``console``)."""

from __future__ import annotations

from django.urls import path

from products import apis

app_name = "products"

urlpatterns = [
    path("api/products/", apis.ProductListCreateApi.as_view(), name="api_list"),
    path("api/products/<slug:slug>/", apis.ProductDetailApi.as_view(), name="api_detail"),
    path("api/products/<slug:slug>/documents/", apis.DocumentImportApi.as_view(), name="api_documents"),
    # Operation ids come from the operator's document and may contain "/": the path converter
    # takes everything up to the final slash.
    path(
        "api/products/<slug:slug>/operations/<path:operation_id>/",
        apis.OperationUpdateApi.as_view(),
        name="api_operation",
    ),
]
