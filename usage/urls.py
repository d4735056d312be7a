from __future__ import annotations

from django.urls import path

from usage import apis, views

app_name = "usage"

urlpatterns = [
    path("usage/", views.usage_dashboard, name="dashboard"),
    path("usage/card/", views.usage_card, name="card"),
    path("api/usage/", apis.UsageApi.as_view(), name="api-usage"),
    path("api/usage/quota/", apis.UsageQuotaApi.as_view(), name="api-quota"),
    path("api/usage/ledger.csv", apis.UsageLedgerCsvApi.as_view(), name="api-ledger-csv"),
]
