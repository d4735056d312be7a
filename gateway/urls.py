"""``/v1/…``: the monetized API (lean views, described for OpenAPI by gateway/schema.py)."""

from __future__ import annotations

from django.conf import settings
from django.urls import path

from gateway import schema, verify, views

app_name = "gateway"

urlpatterns = [
    path("v1/sms", schema.described_by(views.sms_send, schema.SmsSendApi), name="sms_send"),
    path(
        "v1/deliveries/<str:tracking_id>",
        schema.described_by(views.delivery_status_get, schema.DeliveryStatusApi),
        name="delivery_status_get",
    ),
    path(
        "v1/ai/completions",
        schema.described_by(views.ai_completion_create, schema.CompletionApi),
        name="ai_completion_create",
    ),
    path("v1/auth/token", schema.described_by(verify.auth_token_create, schema.AuthTokenApi), name="auth_token_create"),
    path("v1/keys/verify", schema.described_by(verify.keys_verify, schema.KeysVerifyApi), name="keys_verify"),
    path("v1/proxy/<path:path>", views.upstream_proxy, name="upstream_proxy"),
]

if settings.GATEWAY_BASELINE_ENABLED:
    urlpatterns += [
        path("v1/_baseline/deliveries/<str:tracking_id>", views.baseline_delivery_status_get),
        path("v1/_baseline/sms", views.baseline_sms_send),
        path("v1/_baseline/drf/deliveries/<str:tracking_id>", views.BaselineDeliveryStatusDrfApi.as_view()),
    ]
