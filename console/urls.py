"""Operator pages. The overview keeps its historical path under ``usage/``."""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("usage/operator/", views.operator_overview, name="overview"),
]
