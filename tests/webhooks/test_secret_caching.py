"""Responses that reveal a webhook signing secret must never be stored by a browser or proxy."""

from __future__ import annotations

import pytest

from webhooks.delivery import secret_new
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_endpoint_page_showing_the_signing_secret_is_not_cacheable(member_client, org):
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="https://example.com/hook", event_types=["invoice.paid"], secret=secret_new()
    )
    response = member_client.get(f"/billing/endpoints/{endpoint.pk}/")
    assert response.status_code == 200 and endpoint.secret.encode() in response.content
    assert "no-store" in response["Cache-Control"]


def test_api_response_with_the_new_signing_secret_is_not_cacheable(member_client, receiver):
    response = member_client.post(
        "/api/billing/webhooks/",
        {"url": receiver.url, "event_types": ["invoice.paid"]},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["secret"].startswith("whsec_")
    assert "no-store" in response["Cache-Control"]
