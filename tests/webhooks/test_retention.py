"""Retention: customer events, their deliveries and attempts older than the configured horizon
are pruned by a beat task; nothing a delivery still needs is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from webhooks.delivery import secret_new
from webhooks.models import CustomerEvent, DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_history_prune_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(org):
    return WebhookEndpoint.objects.create(
        organization=org, url="https://example.com/hook", event_types=[], secret=secret_new()
    )


def event_with_delivery(endpoint, *, days_ago, status, public_id):
    when = timezone.now() - timedelta(days=days_ago)
    event = CustomerEvent.objects.create(
        organization_id=endpoint.organization_id, public_id=public_id, type="invoice.paid", created_at=when
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=status, created_at=when, attempt_count=1
    )
    DeliveryAttempt.objects.create(delivery=delivery, attempted_at=when, response_status=500)
    return event


def test_old_finished_events_are_pruned_with_their_deliveries_and_attempts(endpoint, settings):
    settings.WEBHOOKS_RETENTION_DAYS = 90
    event_with_delivery(endpoint, days_ago=100, status=DeliveryStatus.SUCCEEDED, public_id="evt_old_ok")
    event_with_delivery(endpoint, days_ago=95, status=DeliveryStatus.FAILED, public_id="evt_old_failed")
    event_with_delivery(endpoint, days_ago=80, status=DeliveryStatus.SUCCEEDED, public_id="evt_recent")
    webhook_history_prune_task()
    assert list(CustomerEvent.objects.values_list("public_id", flat=True)) == ["evt_recent"]
    assert WebhookDelivery.objects.count() == 1 and DeliveryAttempt.objects.count() == 1


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
def test_an_open_delivery_keeps_its_event_and_attempts_however_old(endpoint, settings, status):
    settings.WEBHOOKS_RETENTION_DAYS = 90
    event = event_with_delivery(endpoint, days_ago=200, status=status, public_id="evt_open")
    # A second endpoint's delivery of the same event is finished: its old attempts may go.
    other = WebhookEndpoint.objects.create(
        organization_id=endpoint.organization_id, url="https://example.org/h", event_types=[], secret=secret_new()
    )
    finished = WebhookDelivery.objects.create(endpoint=other, event=event, status=DeliveryStatus.SUCCEEDED)
    DeliveryAttempt.objects.create(delivery=finished, attempted_at=timezone.now() - timedelta(days=200))
    webhook_history_prune_task()
    assert CustomerEvent.objects.filter(pk=event.pk).exists()
    assert WebhookDelivery.objects.filter(status=status).get().attempts.count() == 1
    assert not finished.attempts.exists()


def test_the_retention_horizon_is_configurable(endpoint, settings):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    event_with_delivery(endpoint, days_ago=40, status=DeliveryStatus.SUCCEEDED, public_id="evt_40_days")
    webhook_history_prune_task()
    assert not CustomerEvent.objects.exists() and not DeliveryAttempt.objects.exists()


def test_pruning_runs_daily_from_beat_with_a_90_day_default():
    entry = django_settings.CELERY_BEAT_SCHEDULE["webhooks-history-prune"]
    assert entry["task"] == webhook_history_prune_task.name and entry["schedule"] <= 24 * 3600
    assert django_settings.WEBHOOKS_RETENTION_DAYS == 90
