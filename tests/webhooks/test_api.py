"""Customer REST API for webhook endpoints: register, list, test, deliveries, delete."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def problem(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_webhook_endpoint_lifecycle(member_client, org, receiver):
    created = member_client.post(
        "/api/billing/webhooks/",
        {"url": receiver.url, "event_types": ["invoice.paid"], "description": "prod"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    endpoint = WebhookEndpoint.objects.get(organization=org)
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_") and body["id"] == endpoint.pk
    listed = member_client.get("/api/billing/webhooks/").json()
    assert [e["id"] for e in listed] == [endpoint.pk] and "secret" not in listed[0]  # shown once

    tested = member_client.post(f"/api/billing/webhooks/{endpoint.pk}/test/")
    assert tested.status_code == 202 and tested.json()["status"] == "succeeded"
    headers, raw = receiver.requests[0]
    assert Webhook(body["secret"]).verify(raw, {k.lower(): v for k, v in headers.items()})["data"]["test"] is True
    [delivery] = member_client.get(f"/api/billing/webhooks/{endpoint.pk}/deliveries/").json()
    assert delivery["event_type"] == "subscription.updated" and delivery["last_response_status"] == 200

    assert member_client.delete(f"/api/billing/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    problem(member_client.get(f"/api/billing/webhooks/{endpoint.pk}/deliveries/"), 404)


def test_webhook_create_validation_and_ssrf_are_problem_json(member_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    invalid = problem(
        member_client.post(
            "/api/billing/webhooks/", {"url": "nope", "event_types": ["nope"]}, content_type="application/json"
        ),
        400,
    )
    assert set(invalid["errors"]) == {"url", "event_types"}
    unsafe = problem(
        member_client.post(
            "/api/billing/webhooks/",
            {"url": "https://127.0.0.1/x", "event_types": ["invoice.paid"]},
            content_type="application/json",
        ),
        400,
    )
    assert "non-public" in unsafe["detail"]
    assert not WebhookEndpoint.objects.exists()
