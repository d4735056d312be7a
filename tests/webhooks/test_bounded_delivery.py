"""A receiver cannot pin a worker: one attempt has an overall deadline and reads a bounded
number of response bytes, whatever the receiver does. Real loopback receivers that stream
forever or trickle bytes (each stops by itself after ``GIVE_UP`` seconds, so a regression
fails instead of hanging the suite)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from webhooks.delivery import delivery_attempt, secret_new
from webhooks.models import CustomerEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_delivery_attempt

pytestmark = pytest.mark.django_db
GIVE_UP = 20.0


class RawReceiver:
    """A TCP server on a free loopback port that reads each request, then hands the socket
    to ``respond(conn, until)`` to misbehave until the monotonic time ``until``."""

    def __init__(self, respond: Callable[[socket.socket, float], None]):
        self.respond, self.sent = respond, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                self.respond(conn, time.monotonic() + GIVE_UP)
            except OSError:
                pass  # the sender hung up: what a bounded sender does

    def close(self) -> None:
        self.listener.close()


def stream_forever(conn: socket.socket, until: float) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
    while time.monotonic() < until:
        conn.sendall(chunk)


def trickle_body(conn: socket.socket, until: float) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while time.monotonic() < until:
        conn.sendall(b"1\r\nx\r\n")
        time.sleep(0.2)


def trickle_headers(conn: socket.socket, until: float) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while time.monotonic() < until:
        conn.sendall(b"a")
        time.sleep(0.2)


@pytest.fixture
def delivery_to(org, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    receivers = []

    def make(respond):
        receivers.append(receiver := RawReceiver(respond))
        endpoint = WebhookEndpoint.objects.create(
            organization=org, url=receiver.url, event_types=[], secret=secret_new()
        )
        event = CustomerEvent.objects.create(organization=org, public_id="evt_bounded", type="invoice.paid")
        return WebhookDelivery.objects.create(endpoint=endpoint, event=event)

    yield make
    for receiver in receivers:
        receiver.close()


def timed_attempt(delivery):
    started = time.monotonic()
    attempt = delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return attempt, time.monotonic() - started


def test_endless_response_body_is_read_only_up_to_the_byte_cap(delivery_to, settings):
    settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS = 10
    attempt, took = timed_attempt(delivery_to(stream_forever))
    assert took < 3, f"read an endless body for {took:.1f} s"  # the cap ends it, not the deadline
    assert attempt.response_status == 200 and attempt.response_body == "x" * 2000
    assert attempt.delivery.status == DeliveryStatus.SUCCEEDED


def test_body_trickled_byte_by_byte_is_cut_at_the_overall_deadline(delivery_to, settings):
    settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS = 2
    attempt, took = timed_attempt(delivery_to(trickle_body))
    assert 1.5 < took < 4, f"took {took:.1f} s with a 2 s deadline"
    # The receiver answered 200 before it started trickling: that counts as delivered.
    assert attempt.response_status == 200 and attempt.delivery.status == DeliveryStatus.SUCCEEDED
    assert "2 s" in attempt.error


def test_headers_trickled_byte_by_byte_time_out_at_the_overall_deadline(delivery_to, settings):
    settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS = 2
    delivery = delivery_to(trickle_headers)
    attempt, took = timed_attempt(delivery)
    assert 1.5 < took < 4, f"took {took:.1f} s with a 2 s deadline"
    assert attempt.response_status is None and "2 s" in attempt.error
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempt_count == 1


def test_webhook_tasks_have_time_limits_beyond_the_delivery_deadline(settings):
    assert webhook_delivery_attempt.soft_time_limit > settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS
    assert webhook_delivery_attempt.time_limit > webhook_delivery_attempt.soft_time_limit
