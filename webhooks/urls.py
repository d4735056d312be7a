"""Endpoint pages and API. The paths sit under /billing/ and /api/billing/, where customers
and API clients already find them."""

from __future__ import annotations

from django.urls import path

from webhooks import apis, views

app_name = "webhooks"

urlpatterns = [
    path("billing/endpoints/", views.webhook_list, name="list"),
    path("billing/endpoints/<int:endpoint_id>/", views.webhook_detail, name="detail"),
    path("billing/endpoints/<int:endpoint_id>/test/", views.webhook_test, name="test"),
    path("billing/endpoints/<int:endpoint_id>/delete/", views.webhook_delete, name="delete"),
    path(
        "billing/endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", views.webhook_resend, name="resend"
    ),
    path("api/billing/webhooks/", apis.WebhookEndpointsApi.as_view(), name="api_list"),
    path("api/billing/webhooks/<int:endpoint_id>/", apis.WebhookEndpointDeleteApi.as_view(), name="api_delete"),
    path(
        "api/billing/webhooks/<int:endpoint_id>/deliveries/", apis.WebhookDeliveriesApi.as_view(), name="api_deliveries"
    ),
    path("api/billing/webhooks/<int:endpoint_id>/test/", apis.WebhookTestApi.as_view(), name="api_test"),
]
