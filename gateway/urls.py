"""``/v1/…``: the token exchange, the verify API, then every API product of the catalogue."""

from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path

from gateway import proxy, schema, verify, views

app_name = "gateway"

urlpatterns = [
    path("v1/auth/token", schema.described_by(verify.auth_token_create, schema.AuthTokenApi), name="auth_token_create"),
    path("v1/keys/verify", schema.described_by(verify.keys_verify, schema.KeysVerifyApi), name="keys_verify"),
]

if settings.GATEWAY_BASELINE_ENABLED:
    urlpatterns += [re_path(r"^v1/_baseline/(?P<path>.*)$", views.gateway_call_unmetered)]

# Last: whatever else is under /v1/ is routed by the catalogue (products.router).
urlpatterns += [re_path(r"^v1/(?P<path>.*)$", proxy.gateway_call, name="gateway_call")]
