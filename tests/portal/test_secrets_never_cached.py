"""Every answer that reveals a secret — a new API key, a JWT, the docs' test key, a webhook
signing secret — carries ``Cache-Control: no-store``: no browser, proxy or CDN may keep it."""

from __future__ import annotations

import json

import pytest

from keys.models import ApiKey
from keys.services import api_key_create

pytestmark = pytest.mark.django_db


def never_stored(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_the_key_pages_that_show_a_new_key_are_never_cached(member_client, org):
    for headers in ({"HTTP_HX_REQUEST": "true"}, {}):
        created = member_client.post("/keys/create/", {"name": "CI", "mode": "test"}, **headers)
        assert created.status_code == 200 and "tg_test_" in created.content.decode()
        assert never_stored(created), created.get("Cache-Control")
    key, _ = api_key_create(org=org, name="Prod", mode="live")
    rotated = member_client.post(f"/keys/{key.pk}/rotate/", {"overlap_seconds": "3600"}, HTTP_HX_REQUEST="true")
    assert rotated.status_code == 200 and "tg_live_" in rotated.content.decode()
    assert never_stored(rotated), rotated.get("Cache-Control")


def test_the_key_api_answers_with_a_new_key_are_never_cached(member_client, org):
    created = member_client.post("/api/keys/create/", {"name": "CI", "mode": "test"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["key"].startswith("tg_test_")
    assert never_stored(created), created.get("Cache-Control")
    key = ApiKey.objects.get(organization=org)
    rotated = member_client.post(f"/api/keys/{key.pk}/rotate/", {"overlap_seconds": 0}, content_type="application/json")
    assert rotated.status_code == 201 and rotated.json()["key"].startswith("tg_test_")
    assert never_stored(rotated), rotated.get("Cache-Control")


def test_a_jwt_from_the_token_endpoint_is_never_cached(client, org, demo_product):
    _, raw = api_key_create(org=org, name="k", mode="test")
    response = client.post("/v1/auth/token", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200 and response.json()["access_token"].count(".") == 2
    assert never_stored(response), response.get("Cache-Control")


@pytest.mark.parametrize(
    "path",
    [
        "/docs/",
        "/docs/operations/demo.delivery_status_get/",
        "/docs/getting-started/",
        "/docs/postman.json",
        "/docs/authentication/",
    ],
)
def test_docs_pages_made_with_the_docs_test_key_are_never_cached(member_client, path, demo_product):
    response = member_client.get(path)
    assert response.status_code == 200
    assert never_stored(response), (path, response.get("Cache-Control"))


def test_the_docs_test_key_is_in_the_pages_checked_above(member_client, org, demo_product):
    member_client.get("/docs/")
    [docs_key] = ApiKey.objects.filter(organization=org, name="Docs test key")
    for path in (
        "/docs/",
        "/docs/operations/demo.delivery_status_get/",
        "/docs/getting-started/",
        "/docs/postman.json",
    ):
        assert docs_key.prefix in member_client.get(path).content.decode(), path


def test_the_webhook_signing_secret_page_and_api_answer_are_never_cached(member_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    created = member_client.post(
        "/api/billing/webhooks/",
        json.dumps({"url": "https://127.0.0.1:8599/hook", "event_types": ["invoice.paid"]}),
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert never_stored(created), created.get("Cache-Control")
    page = member_client.get(f"/billing/endpoints/{created.json()['id']}/")
    assert page.status_code == 200 and created.json()["secret"] in page.content.decode()
    assert never_stored(page), page.get("Cache-Control")
