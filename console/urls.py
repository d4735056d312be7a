"""Operator pages. The overview keeps its historical path under ``usage/``."""

from __future__ import annotations

from django.urls import path

from console import metrics
from console.views import health, overview, products

app_name = "console"

urlpatterns = [
    path("usage/operator/", overview.operator_overview, name="overview"),
    path("console/health/", health.health_page, name="health"),
    path("metrics", metrics.metrics, name="metrics"),
    path("console/products/", products.product_list, name="products"),
    path("console/products/<slug:slug>/", products.product_detail, name="product"),
    path("console/products/<slug:slug>/settings/", products.product_settings, name="product_settings"),
    path("console/products/<slug:slug>/import/", products.product_import, name="product_import"),
    path("console/products/<slug:slug>/import/apply/", products.product_import_apply, name="product_import_apply"),
    path("console/products/<slug:slug>/operations/<int:pk>/", products.operation_edit, name="operation_edit"),
    path(
        "console/products/<slug:slug>/operations/<int:pk>/toggle/",
        products.operation_toggle,
        name="operation_toggle",
    ),
]
