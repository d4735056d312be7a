"""Customer webhooks out: Standard Webhooks signatures, attempts, retries, SSRF, encryption."""

from __future__ import annotations

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from tests.webhooks.conftest import Receiver
from webhooks.delivery import UnsafeTarget, secret_new, target_check
from webhooks.events import customer_event_emit
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def endpoint_for(org, url, types=("invoice.paid",)):
    return WebhookEndpoint.objects.create(organization=org, url=url, event_types=list(types), secret=secret_new())


def test_delivery_verifies_with_standardwebhooks_library(org, receiver, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(org, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        customer_event_emit(org_id=org.pk, type="invoice.paid", data={"number": "TG-2026-000001", "total_minor": 1500})
    headers, body = receiver.requests[0]
    payload = Webhook(endpoint.secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload == {
        "type": "invoice.paid",
        "timestamp": payload["timestamp"],
        "data": {"number": "TG-2026-000001", "total_minor": 1500},
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts.get().response_status == 200
    # A tampered body fails verification.
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b"1500", b"1"), {k.lower(): v for k, v in headers.items()})


def test_only_subscribed_types_are_delivered(org, receiver, django_capture_on_commit_callbacks):
    endpoint_for(org, receiver.url, types=("invoice.paid",))
    with django_capture_on_commit_callbacks(execute=True):
        customer_event_emit(org_id=org.pk, type="key.expiring", data={})
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_emit_without_endpoints_is_cheap_and_safe(org):
    customer_event_emit(org_id=org.pk, type="usage.threshold_reached", data={"percent": 80})
    with pytest.raises(ValueError):
        customer_event_emit(org_id=org.pk, type="nope", data={})


def test_failed_attempt_is_stored_and_scheduled_with_backoff(org, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    r = Receiver(status=500)
    try:
        endpoint_for(org, r.url)
        with django_capture_on_commit_callbacks(execute=True):
            customer_event_emit(org_id=org.pk, type="invoice.paid", data={})
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.RETRYING and delivery.attempt_count == 1
        assert delivery.next_attempt_at is not None and delivery.attempts.get().response_status == 500
        from webhooks.tasks import webhook_delivery_attempt

        r.status = 200
        # What the sweeper enqueues once the backoff is over.
        webhook_delivery_attempt.delay(delivery.pk, attempt=delivery.attempt_count)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts.count() == 2
    finally:
        r.close()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://192.168.0.10/",
        "http://example.com/hook",
    ],
)
def test_ssrf_targets_are_refused(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(UnsafeTarget):
        target_check(url)


def test_ssrf_refused_at_delivery_time_too(org, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    endpoint_for(org, "https://127.0.0.1:8599/hook")
    with django_capture_on_commit_callbacks(execute=True):
        customer_event_emit(org_id=org.pk, type="invoice.paid", data={})
    attempt = WebhookDelivery.objects.get().attempts.get()
    assert attempt.response_status is None and "non-public" in attempt.error


def test_portal_form_refuses_private_url(member_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = member_client.post(
        "/billing/endpoints/", {"url": "https://127.0.0.1/x", "event_types": ["invoice.paid"]}
    )
    assert response.status_code == 200 and b"non-public" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_portal_test_event_and_resend(member_client, org, receiver):
    response = member_client.post("/billing/endpoints/", {"url": receiver.url, "event_types": ["invoice.paid"]})
    endpoint = WebhookEndpoint.objects.get(organization=org)
    assert response["Location"] == f"/billing/endpoints/{endpoint.pk}/"
    member_client.post(f"/billing/endpoints/{endpoint.pk}/test/")
    delivery = WebhookDelivery.objects.get()
    member_client.post(f"/billing/endpoints/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    assert len(receiver.requests) == 2 and delivery.attempts.count() == 2
    page = member_client.get(f"/billing/endpoints/{endpoint.pk}/")
    assert b"HTTP 200" in page.content and b"standardwebhooks" in page.content


def test_other_org_cannot_see_endpoint(member_client, other_org):
    endpoint = endpoint_for(other_org, "https://example.com/hook")
    assert member_client.get(f"/billing/endpoints/{endpoint.pk}/").status_code == 404
    assert member_client.post(f"/billing/endpoints/{endpoint.pk}/test/").status_code == 404


def test_secret_is_encrypted_at_rest(org):
    endpoint = endpoint_for(org, "https://example.com/hook")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("v2:") and "whsec_" not in stored
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_deliveries_connect_to_the_address_that_was_vetted(settings):
    """DNS rebinding: the connection goes to the checked address, the host stays for TLS."""
    from webhooks.delivery import pinned_request

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    # A global IP literal: getaddrinfo answers it without DNS, and nothing is sent to it here.
    assert target_check("https://93.184.215.14:8443/hooks?x=1") == "93.184.215.14"
    url, headers, extensions = pinned_request("https://hooks.example.com:8443/hooks?x=1", "203.0.113.7")
    assert url == "https://203.0.113.7:8443/hooks?x=1"
    assert headers == {"host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    assert pinned_request("https://hooks.example.com/h", "2001:db8::1")[0] == "https://[2001:db8::1]/h"
    assert pinned_request("https://hooks.example.com/h", None) == ("https://hooks.example.com/h", {}, {})
