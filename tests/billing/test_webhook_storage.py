"""The provider webhook URL is no free storage: unsigned bodies are never kept, rejections are
aggregated into bounded records, oversized bodies are refused, old events are pruned."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import models as billing_models
from billing.models import EventStatus, ProviderEvent
from sandbox.emit import paystack_signature, stripe_signature

pytestmark = pytest.mark.django_db

STRIPE = "/billing/webhooks/stripe/"
PAYSTACK = "/billing/webhooks/paystack/"


def _post(client, path, body: bytes, headers, remote="203.0.113.7"):
    return client.post(path, data=body, content_type="application/json", headers=headers, REMOTE_ADDR=remote)


def test_an_unsigned_body_is_never_stored_only_a_bounded_record_of_the_rejection(client, plans):
    body = json.dumps({"event": "charge.success", "data": {"reference": "x", "blob": "A" * 200_000}}).encode()
    response = _post(client, PAYSTACK, body, {"x-paystack-signature": "0" * 128})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("#bad-signature")
    assert not ProviderEvent.objects.exists()
    rejection = billing_models.ProviderWebhookRejection.objects.get()
    assert (rejection.provider, rejection.client_address, rejection.count) == ("paystack", "203.0.113.7", 1)
    assert rejection.last_size == len(body) and rejection.bytes_total == len(body)
    assert rejection.last_body_sha256 == hashlib.sha256(body).hexdigest()
    assert "does not match" in rejection.last_reason
    assert not any(len(str(getattr(rejection, f.attname))) > 300 for f in rejection._meta.fields)


def test_a_flood_of_bad_signatures_cannot_fill_the_table(client, plans, settings):
    settings.PROVIDER_WEBHOOK_REJECTIONS_PER_HOUR = 5
    body = json.dumps({"id": "evt_x", "type": "invoice.paid", "data": {"object": {}}}).encode()
    for _ in range(40):
        assert _post(client, STRIPE, body, {"Stripe-Signature": "t=1,v1=00"}).status_code == 400
    for i in range(40):  # many addresses: at most the cap, then one overflow row
        assert _post(client, STRIPE, body + b" " * i, {}, remote=f"198.51.100.{i}").status_code == 400
    assert billing_models.ProviderWebhookRejection.objects.filter(client_address="203.0.113.7").get().count == 40
    assert billing_models.ProviderWebhookRejection.objects.count() == 5 + 1
    assert sum(billing_models.ProviderWebhookRejection.objects.values_list("count", flat=True)) == 80
    assert billing_models.ProviderWebhookRejection.objects.get(client_address="*").count == 40 - 4
    assert not ProviderEvent.objects.exists()


def test_an_oversized_body_is_413_and_not_read_into_storage(client, plans, settings):
    settings.PROVIDER_WEBHOOK_MAX_BYTES = 10_000
    body = json.dumps({"event": "charge.success", "data": {"reference": "x", "pad": "B" * 20_000}}).encode()
    response = _post(client, PAYSTACK, body, {"x-paystack-signature": paystack_signature(body)})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["max_bytes"] == 10_000
    assert not ProviderEvent.objects.exists()


def test_a_signed_event_is_stored_with_its_body(client, plans):
    body = json.dumps({"id": "evt_keep", "type": "product.created", "data": {"object": {"id": "prod_1"}}})
    response = _post(client, STRIPE, body.encode(), {"Stripe-Signature": stripe_signature(body)})
    assert response.status_code == 200
    event = ProviderEvent.objects.get()
    assert event.body == body and event.event_id == "evt_keep" and event.status == EventStatus.IGNORED


def test_old_provider_events_are_pruned_but_never_one_still_being_processed(plans, settings):
    from billing.webhooks_retention import provider_events_prune

    settings.PROVIDER_EVENTS_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)

    def event(event_id, status, at):
        return ProviderEvent.objects.create(
            provider="stripe", event_id=event_id, body="{}", status=status, received_at=at
        )

    def rejection(address, at):
        billing_models.ProviderWebhookRejection.objects.create(
            provider="stripe", client_address=address, window_start=at, first_seen_at=at, last_seen_at=at
        )

    event("evt_a", EventStatus.PROCESSED, old)
    event(None, EventStatus.FAILED, old)
    busy = event("evt_b", EventStatus.RECEIVED, old)  # still being processed: never pruned
    kept = event("evt_c", EventStatus.PROCESSED, recent)
    rejection("a", old)
    rejection("b", recent)

    assert provider_events_prune(now=now) == {"events": 2, "rejections": 1}
    assert set(ProviderEvent.objects.values_list("pk", flat=True)) == {busy.pk, kept.pk}
    assert list(billing_models.ProviderWebhookRejection.objects.values_list("client_address", flat=True)) == ["b"]


def test_pruning_runs_from_the_beat_schedule():
    from portal.wiring import CELERY_BEAT_SCHEDULE

    assert any(entry["task"] == "billing.tasks.provider_events_prune_task" for entry in CELERY_BEAT_SCHEDULE.values())
