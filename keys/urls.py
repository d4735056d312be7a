from __future__ import annotations

from django.urls import path

from keys import apis, views

app_name = "keys"

urlpatterns = [
    path("keys/", views.key_list, name="list"),
    path("keys/card/", views.key_card, name="card"),
    path("keys/create/", views.key_create, name="create"),
    path("keys/<int:key_id>/revoke/", views.key_revoke, name="revoke"),
    path("keys/<int:key_id>/rotate/", views.key_rotate, name="rotate"),
    path("api/keys/", apis.KeyListApi.as_view(), name="api_list"),
    path("api/keys/create/", apis.KeyCreateApi.as_view(), name="api_create"),
    path("api/keys/<int:key_id>/", apis.KeyDetailApi.as_view(), name="api_detail"),
    path("api/keys/<int:key_id>/revoke/", apis.KeyRevokeApi.as_view(), name="api_revoke"),
    path("api/keys/<int:key_id>/rotate/", apis.KeyRotateApi.as_view(), name="api_rotate"),
]
