"""The docs' test key: pre-authorizes "Try it", fills samples and Postman for a signed-in
developer; never a live key; never shown to visitors or to roles that cannot manage keys."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection

from accounts.models import Membership, Role
from keys.models import ApiKey
from keys.services import api_key_revoke
from public.models import DocsKey

pytestmark = pytest.mark.django_db


def _config(response) -> dict:
    html = response.content.decode()
    return json.loads(
        re.search(r'<script id="docs-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )


def test_signed_in_developer_gets_a_test_key_pre_authorized(member_client, org, demo_plans):
    config = _config(member_client.get("/docs/"))
    assert config["apiKey"].startswith("tg_test_")
    key = ApiKey.objects.get(organization=org, name="Docs test key")
    assert key.mode == "test" and config["apiKey"].startswith(key.prefix)
    stored = DocsKey.objects.get(organization=org)
    assert stored.secret == config["apiKey"]
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT secret FROM public_docskey WHERE id = %s", [stored.pk])
        assert config["apiKey"] not in cursor.fetchone()[0]


def test_the_same_key_is_reused_on_every_visit(member_client, org, demo_plans):
    first = _config(member_client.get("/docs/"))["apiKey"]
    second = _config(member_client.get("/docs/"))["apiKey"]
    assert first == second
    assert ApiKey.objects.filter(organization=org, name="Docs test key").count() == 1


def test_a_revoked_docs_key_is_replaced(member_client, org, demo_plans):
    first = _config(member_client.get("/docs/"))["apiKey"]
    api_key_revoke(key=ApiKey.objects.get(organization=org, name="Docs test key"))
    second = _config(member_client.get("/docs/"))["apiKey"]
    assert second != first and second.startswith("tg_test_")
    assert ApiKey.objects.filter(organization=org, name="Docs test key", revoked_at__isnull=True).count() == 1


def test_the_docs_key_calls_the_api_and_counts_as_test_usage(member_client, org, demo_product, client):
    key = _config(member_client.get("/docs/"))["apiKey"]
    response = client.get("/v1/demo/deliveries/trk_" + "0" * 24, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert "RateLimit" in response and "RateLimit-Policy" in response


def test_visitors_get_no_key(client, demo_plans):
    assert _config(client.get("/docs/"))["apiKey"] is None
    assert not ApiKey.objects.exists()


def test_billing_role_gets_no_key(client, user, org, demo_plans):
    Membership.objects.filter(organization=org, user=user).update(role=Role.BILLING)
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    response = client.get("/docs/")
    assert _config(response)["apiKey"] is None
    assert "cannot create API keys" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_signed_in_samples_and_postman_carry_the_test_key(member_client, org, demo_product):
    key = _config(member_client.get("/docs/"))["apiKey"]
    page = member_client.get("/docs/operations/demo.delivery_status_get/").content.decode()
    assert f"Authorization: Bearer {key}" in page
    collection = member_client.get("/docs/postman.json").json()
    assert {v["key"]: v["value"] for v in collection["variable"]}["apiKey"] == key


def test_another_orgs_docs_key_is_never_used(member_client, org, other_org, demo_plans):
    mine = _config(member_client.get("/docs/"))["apiKey"]
    DocsKey.objects.filter(organization=org).update(organization=other_org)  # a stale row for another org
    again = _config(member_client.get("/docs/"))["apiKey"]
    assert again != mine
