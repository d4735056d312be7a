"""Retries come from a sweeper over ``next_attempt_at``, never from long broker countdowns, and
every attempt checks the delivery first: a redelivered or duplicated task message never sends
an attempt twice, and two workers never send the same attempt at once."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.celery import app as celery_app
from tests.webhooks.conftest import Receiver
from webhooks.delivery import deliveries_claim_due, delivery_attempt, secret_new
from webhooks.events import customer_event_emit
from webhooks.models import CustomerEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_deliveries_sweep, webhook_delivery_attempt

pytestmark = pytest.mark.django_db


def delivery_for(org, url, *, public_id="evt_sweeper"):
    endpoint = WebhookEndpoint.objects.create(organization=org, url=url, event_types=[], secret=secret_new())
    event = CustomerEvent.objects.create(organization=org, public_id=public_id, type="invoice.paid")
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event)


def queued_task_messages() -> list[dict]:
    """The task messages waiting in the real Redis broker's webhooks queue (their route)."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    out = []
    for raw in broker.lrange("webhooks", 0, -1):
        message = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        out.append(
            {"task": message["headers"]["task"], "eta": message["headers"].get("eta"), "args": args, "kwargs": kwargs}
        )
    return out


def test_a_redelivered_message_does_not_resend_a_delivered_event(org, receiver):
    delivery = delivery_for(org, receiver.url)
    webhook_delivery_attempt.delay(delivery.pk)
    webhook_delivery_attempt.delay(delivery.pk)  # the broker hands the same message out again
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
    assert len(receiver.requests) == 1


def test_a_duplicated_message_for_an_attempt_already_made_sends_nothing(org, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    failing = Receiver(status=500)
    try:
        delivery = delivery_for(org, failing.url)
        webhook_delivery_attempt.delay(delivery.pk, 0)
        webhook_delivery_attempt.delay(delivery.pk, 0)  # a second copy of the first attempt
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RETRYING and delivery.attempt_count == 1
        assert len(failing.requests) == 1
    finally:
        failing.close()


@pytest.fixture
def failing(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    receiver = Receiver(status=500)
    yield receiver
    receiver.close()


def test_a_failed_attempt_leaves_no_delayed_message_in_the_broker(org, failing):
    celery_app.conf.task_always_eager = False  # publish to the real broker; no worker consumes it
    delivery = delivery_for(org, failing.url)
    webhook_delivery_attempt(delivery.pk)  # what a worker runs
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempt_count == 1
    assert delivery.next_attempt_at > timezone.now()
    # No countdown message waits 30 s … 12 h in the broker (past its visibility timeout).
    assert queued_task_messages() == []


def test_the_sweeper_enqueues_a_retry_when_it_is_due_and_claims_it(org, failing, settings):
    celery_app.conf.task_always_eager = False  # publish to the real broker; no worker consumes it
    delivery = delivery_for(org, failing.url)
    webhook_delivery_attempt(delivery.pk)
    webhook_deliveries_sweep()  # not due yet: nothing to do
    assert queued_task_messages() == []

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    webhook_deliveries_sweep()
    assert queued_task_messages() == [
        {"task": webhook_delivery_attempt.name, "eta": None, "args": [delivery.pk, 1], "kwargs": {}}
    ]
    delivery.refresh_from_db()  # claimed: later sweeps leave it alone until the claim expires
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=settings.WEBHOOKS_CLAIM_SECONDS - 5)
    webhook_deliveries_sweep()
    assert len(queued_task_messages()) == 1


def test_a_delivery_whose_message_was_lost_is_sent_once_its_claim_expires(org, receiver):
    WebhookEndpoint.objects.create(organization=org, url=receiver.url, event_types=[], secret=secret_new())
    customer_event_emit(org_id=org.pk, type="invoice.paid", data={})  # its on-commit enqueue never runs
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > timezone.now()
    webhook_deliveries_sweep()
    assert receiver.requests == []
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    webhook_deliveries_sweep()  # eager here: the enqueued attempt runs at once
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.requests) == 1


class SlowReceiver:
    """Answers 200 after holding each request for ``hold`` seconds; counts requests."""

    def __init__(self, hold: float):
        self.count = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.count += 1
                time.sleep(hold)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_attempt_concurrently(org, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    slow = SlowReceiver(hold=1.0)
    delivery = delivery_for(org, slow.url)
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            delivery_attempt(delivery_id=delivery.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert slow.count == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts.count() == 1
    finally:
        slow.close()


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_skips_a_delivery_whose_attempt_is_in_progress(org):
    delivery = delivery_for(org, "https://example.com/hook")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as sender:  # a worker holding the row while it sends
        sender.execute("SELECT 1 FROM webhooks_webhookdelivery WHERE id = %s FOR UPDATE", [delivery.pk])
        assert deliveries_claim_due() == []
    assert deliveries_claim_due() == [(delivery.pk, 0)]


def test_the_sweeper_runs_from_beat_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["webhooks-deliveries-sweep"]
    assert entry["task"] == webhook_deliveries_sweep.name and entry["schedule"] <= 15
